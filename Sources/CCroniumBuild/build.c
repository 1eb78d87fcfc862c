#include "CCroniumBuild.h"

// Compiled here, not in the header, so that only this file depends on the defines.
#ifndef CRONIUM_COMMIT
#define CRONIUM_COMMIT ""
#endif
#ifndef CRONIUM_BUILD_DATE
#define CRONIUM_BUILD_DATE ""
#endif

const char *cronium_build_commit(void) { return CRONIUM_COMMIT; }
const char *cronium_build_date(void) { return CRONIUM_BUILD_DATE; }
