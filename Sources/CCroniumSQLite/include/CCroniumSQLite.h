#ifndef CCRONIUM_SQLITE_H
#define CCRONIUM_SQLITE_H

/// Makes the SQLite connection `db` plan each statement without looking at the values bound to
/// it (SQLite's query planner stability guarantee). Otherwise a statement whose plan consulted a
/// bound value (a `LIMIT ?`, for one) is prepared again at every execution with new values,
/// which undoes keeping prepared statements. Returns 0, or -1 when SQLite refused.
int cronium_sqlite_stable_plans(void *db);

#endif
