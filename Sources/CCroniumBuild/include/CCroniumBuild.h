#ifndef CCRONIUM_BUILD_H
#define CCRONIUM_BUILD_H

/// The commit and the date of a packaged build, which `scripts/package.sh` writes into build.c
/// for the build; empty strings in a build from a checkout.
const char *cronium_build_commit(void);
const char *cronium_build_date(void);

#endif
