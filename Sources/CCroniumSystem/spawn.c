// The child side of a run's process: everything between fork and exec that posix_spawn cannot do
// (join a cgroup, set resource limits, drop to the run user, install a seccomp filter).
//
// The child shares the parent's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does), so it runs on
// a stack of its own and uses only raw system calls: glibc's setuid() and friends would signal the
// parent's threads to change their ids too.
#define _GNU_SOURCE
#include "CCroniumSystem.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

typedef struct {
    const cronium_spawn_request *request;
    sigset_t parent_mask;
    volatile int error;
    const char *volatile step;
} child_state;

static int fail(child_state *state, const char *step) {
    state->error = errno ? errno : EINVAL;
    state->step = step;
    syscall(SYS_exit, 127);
    return 127;
}

/// Gives descriptor `target` a copy of `source` that survives exec.
static int place(int source, int target) {
    if (syscall(SYS_dup2, source, target) < 0) return -1;
    return 0;
}

static int child_main(void *argument) {
    child_state *state = argument;
    const cronium_spawn_request *r = state->request;

    // Default dispositions for every signal: the server ignores SIGPIPE, and an ignored signal
    // would stay ignored across exec.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(signal, NULL, &current) == 0 && current.sa_handler != SIG_DFL) sigaction(signal, &dfl, NULL);
    }

    // Descriptors first: 0, 1, 2, then the extra ones as 3, 4, …, then the cgroup ones, and every
    // other one closed. Until then this child holds a copy of every descriptor of the server
    // (the lock of its data directory among them), and joining a v1 cgroup can take milliseconds.
    // Every source is first moved out of the way of the targets, so that placing one never
    // overwrites another still to be placed.
    int kept = 3 + r->extra_fd_count;
    int count = kept + r->cgroup_fd_count;
    int sources[3 + 16 + 4];
    if (r->extra_fd_count > 16 || r->cgroup_fd_count > 4) { errno = EINVAL; return fail(state, "too many descriptors"); }
    sources[0] = r->stdin_fd;
    sources[1] = r->stdout_fd;
    sources[2] = r->stderr_fd;
    for (int i = 0; i < r->extra_fd_count; i++) sources[3 + i] = r->extra_fds[i];
    for (int i = 0; i < r->cgroup_fd_count; i++) sources[kept + i] = r->cgroup_fds[i];
    for (int i = 0; i < count; i++) {
        int moved = (int)syscall(SYS_fcntl, sources[i], F_DUPFD, count);
        if (moved < 0) return fail(state, "dup");
        sources[i] = moved;
    }
    for (int i = 0; i < count; i++) {
        if (place(sources[i], i) < 0) return fail(state, "dup2");
    }
    if (syscall(SYS_close_range, count, ~0U, 0) < 0) {
        for (int fd = count; fd < 65536; fd++) syscall(SYS_close, fd);
    }

    for (int fd = kept; fd < count; fd++) {
        if (syscall(SYS_write, fd, "0", 1) != 1) return fail(state, "joining the run's cgroup");
        syscall(SYS_close, fd);
    }
    if (syscall(SYS_setsid) < 0) return fail(state, "setsid");
    if (r->cwd && syscall(SYS_chdir, r->cwd) < 0) return fail(state, "chdir");
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail(state, "no_new_privs");
    if (r->change_ids) {
        gid_t groups[1] = {r->gid};
        if (syscall(SYS_setgroups, 1, groups) < 0) return fail(state, "setgroups");
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0) return fail(state, "setgid");
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0) return fail(state, "setuid");
    }
    // Dies with the server's spawning thread (one that lives as long as the server); after the
    // switch of users, which clears it. The parent waits for this exec, so it cannot be gone yet.
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return fail(state, "pdeathsig");

    // Limits last: a low open-files limit would refuse the descriptor moves above.
    for (int i = 0; i < r->limit_count; i++) {
        struct rlimit limit = {r->limits[i].value, r->limits[i].value};
        if (syscall(SYS_prlimit64, 0, r->limits[i].resource, &limit, NULL) < 0) return fail(state, "setrlimit");
    }

    if (r->seccomp_filter) {
        struct sock_fprog program = {
            .len = (unsigned short)(r->seccomp_filter_length / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)r->seccomp_filter,
        };
        if (syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) < 0) return fail(state, "seccomp");
    }
    sigset_t empty;
    sigemptyset(&empty);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, _NSIG / 8);
    syscall(SYS_execve, r->path, r->argv, r->envp);
    return fail(state, "exec");
}

/// The child's stack, one per spawning thread, kept for the thread's life. The thread waits while
/// its child uses it (CLONE_VFORK), so one is enough. A fresh mapping per spawn cost page faults
/// (expensive in a VM that hands freed pages back to its host) and, at munmap, a TLB flush on
/// every core the server runs on.
static __thread void *spawn_stack;
static const size_t spawn_stack_size = 64 * 1024;
/// Unmaps a thread's stack when the thread ends.
static pthread_key_t spawn_stack_key;
static pthread_once_t spawn_stack_key_once = PTHREAD_ONCE_INIT;
static void unmap_spawn_stack(void *stack) { munmap(stack, spawn_stack_size); }
static void make_spawn_stack_key(void) { pthread_key_create(&spawn_stack_key, unmap_spawn_stack); }

int cronium_spawn(const cronium_spawn_request *request, pid_t *pid, const char **failed_step) {
    if (spawn_stack == NULL) {
        void *stack = mmap(NULL, spawn_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) {
            *failed_step = "mmap";
            return errno;
        }
        pthread_once(&spawn_stack_key_once, make_spawn_stack_key);
        pthread_setspecific(spawn_stack_key, stack);
        spawn_stack = stack;
    }
    child_state state = {.request = request, .error = 0, .step = NULL};
    // No signal handler may run in the child while it shares this process's memory.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &state.parent_mask);
    pid_t child = clone(child_main, (char *)spawn_stack + spawn_stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &state);
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &state.parent_mask, NULL);
    if (child < 0) {
        *failed_step = "clone";
        return clone_error;
    }
    if (state.error != 0) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *failed_step = state.step;
        return state.error;
    }
    *pid = child;
    return 0;
}

void cronium_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

const int cronium_rlimit_nofile = RLIMIT_NOFILE, cronium_rlimit_nproc = RLIMIT_NPROC, cronium_rlimit_data = RLIMIT_DATA,
          cronium_rlimit_fsize = RLIMIT_FSIZE, cronium_rlimit_core = RLIMIT_CORE;

int cronium_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cronium_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int cronium_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
    return info.si_pid == pid;
}
