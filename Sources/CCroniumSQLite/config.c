// What Swift cannot call in the SQLite that sqlite-nio bundles: sqlite3_db_config is variadic.
#include "CCroniumSQLite.h"

// Declared here, not from sqlite-nio's header (a C target cannot reach it): the same function.
int sqlite_nio_sqlite3_db_config(void *db, int op, ...);

int cronium_sqlite_stable_plans(void *db) {
    const int enable_qpsg = 1007; // SQLITE_DBCONFIG_ENABLE_QPSG
    int enabled = 0;
    int status = sqlite_nio_sqlite3_db_config(db, enable_qpsg, 1, &enabled);
    return status == 0 && enabled == 1 ? 0 : -1;
}
