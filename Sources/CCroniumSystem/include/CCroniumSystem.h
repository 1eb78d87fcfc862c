#ifndef CCRONIUM_SYSTEM_H
#define CCRONIUM_SYSTEM_H

#include <stdint.h>
#include <sys/types.h>

/// One resource limit the child sets on itself before exec (a `RLIMIT_*` resource and its value,
/// used as both the soft and the hard limit, so the script cannot raise it again).
typedef struct {
    int resource;
    uint64_t value;
} cronium_rlimit;

/// Everything the child does between fork and exec, in this order: join each cgroup (writes "0"
/// to each `cgroup.procs` descriptor), start a new session, chdir, set no_new_privs, drop to
/// `uid`/`gid` (when `change_ids`), ask for SIGKILL when the spawning thread ends, wire its descriptors (0, 1, 2 and then `extra_fds` as 3, 4, …;
/// every other descriptor is closed), set the limits, install `seccomp_filter` (when not NULL), exec.
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    const int *extra_fds;
    int extra_fd_count;
    const int *cgroup_fds;
    int cgroup_fd_count;
    const cronium_rlimit *limits;
    int limit_count;
    int change_ids;
    uid_t uid;
    gid_t gid;
    const void *seccomp_filter;
    int seccomp_filter_length;
} cronium_spawn_request;

/// Starts the child with vfork semantics (no copy of the server's address space). Returns 0 and
/// sets `*pid`, or returns the errno of the step that failed (in the parent or the child) and sets
/// `*failed_step` to a short name of that step ("exec", "setuid", …).
int cronium_spawn(const cronium_spawn_request *request, pid_t *pid, const char **failed_step);

/// Lets malloc keep freed memory for reuse instead of handing it back to the system at once:
/// the store's writer thread freed and faulted in the same pages again at every transaction
/// (about 20 page faults a run, each costly in a VM that returns freed pages to its host).
/// Blocks up to 4 MiB come from the heap, and up to 16 MiB of free heap top stays mapped.
void cronium_keep_freed_memory(void);

/// The `RLIMIT_*` resources runs are limited by (not all of them reach Swift through Glibc).
extern const int cronium_rlimit_nofile, cronium_rlimit_nproc, cronium_rlimit_data, cronium_rlimit_fsize, cronium_rlimit_core;

/// `pipe2(fds, O_CLOEXEC)`: 0, or -1 with errno set.
int cronium_pipe(int fds[2]);

/// An anonymous in-memory file (`memfd_create`, close-on-exec); -1 with errno set if not.
int cronium_memfd(const char *name);

/// 1 when the child `pid` has exited (it is left to be reaped), 0 while it runs.
int cronium_has_exited(pid_t pid);

/// A descriptor that becomes readable when process `pid` exits (`pidfd_open`, Linux 5.3+); -1
/// with errno set where the kernel has none.
int cronium_pidfd_open(pid_t pid);
/// `epoll_create1(EPOLL_CLOEXEC)`.
int cronium_epoll_create(void);
/// A descriptor that becomes readable once ``cronium_wakeup`` was called on it (`eventfd`,
/// close-on-exec); -1 with errno set if not.
int cronium_wakeup_create(void);
/// Makes a `cronium_wakeup_create` descriptor readable; 0, or -1 with errno set.
int cronium_wakeup(int fd);
/// Adds `fd` to the epoll set for one readiness report (`EPOLLIN | EPOLLONESHOT`).
int cronium_epoll_watch_once(int epoll_fd, int fd);
/// Blocks until some watched descriptors are ready and writes them to `fds` (at most `capacity`,
/// at most 64); returns how many, or -1 with errno set.
int cronium_epoll_ready(int epoll_fd, int *fds, int capacity);
/// Writes the seccomp program of the sandbox into `buffer` (struct sock_filter entries, as
/// `bwrap --seccomp` and `PR_SET_SECCOMP` take them) and returns its length in bytes, or -1 when
/// `capacity` is too small. The program refuses, with EPERM, the system calls that change mounts,
/// namespaces, kernel state, keys, modules and other processes' memory, and clone3 with ENOSYS
/// (its flags cannot be inspected; libc falls back to clone, whose flags are checked).
int cronium_seccomp_program(void *buffer, int capacity);

#endif
