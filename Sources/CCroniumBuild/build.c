#include "CCroniumBuild.h"

// scripts/package.sh fills in these two lines for a packaged build, and puts them back after.
#ifndef CRONIUM_COMMIT
#define CRONIUM_COMMIT ""
#endif
#ifndef CRONIUM_BUILD_DATE
#define CRONIUM_BUILD_DATE ""
#endif

const char *cronium_build_commit(void) { return CRONIUM_COMMIT; }
const char *cronium_build_date(void) { return CRONIUM_BUILD_DATE; }
