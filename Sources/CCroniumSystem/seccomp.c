// The sandbox's seccomp program, built from this architecture's own system call numbers so that
// it is right wherever the server is compiled.
#define _GNU_SOURCE
#include "CCroniumSystem.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "the sandbox's seccomp program knows x86_64 and aarch64"
#endif

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/// Refused with EPERM: mounts, namespaces, kernel and clock state, keys, modules, tracing and
/// reading other processes' memory. In a user namespace without capabilities most of these fail
/// anyway; the filter makes that independent of how the kernel is configured.
static const int refused[] = {
    SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
    SYS_unshare, SYS_setns,
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
    SYS_kexec_load, SYS_kexec_file_load, SYS_reboot,
    SYS_init_module, SYS_finit_module, SYS_delete_module,
    SYS_bpf, SYS_perf_event_open, SYS_userfaultfd,
    SYS_keyctl, SYS_add_key, SYS_request_key,
    SYS_swapon, SYS_swapoff, SYS_acct, SYS_syslog, SYS_quotactl,
    SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime, SYS_adjtimex,
    SYS_open_by_handle_at, SYS_name_to_handle_at,
#ifdef SYS_open_tree
    SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
#else
    428, 429, 430, 431, 432, 433,
#endif
#ifdef SYS_mount_setattr
    SYS_mount_setattr,
#else
    442,
#endif
#ifdef SYS_pidfd_getfd
    SYS_pidfd_getfd,
#else
    438,
#endif
#if defined(__x86_64__)
    SYS_iopl, SYS_ioperm, SYS_uselib, SYS_lookup_dcookie, SYS_vhangup,
#endif
};

#define NAMESPACE_FLAGS \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWTIME)

#define ARG0_LOW (offsetof(struct seccomp_data, args) + 0)
#define ARG1_LOW (offsetof(struct seccomp_data, args) + 8)

int cronium_seccomp_program(void *buffer, int capacity) {
    enum { refused_count = sizeof refused / sizeof refused[0] };
    // Layout: arch check, number load, [x32 check], one jump per refused call, clone3, clone,
    // ioctl, allow, then the shared return instructions at the end.
    struct sock_filter program[refused_count + 32];
    int n = 0;
#define ADD(code, k, jt, jf) program[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf)
#define STMT(code, k) program[n++] = (struct sock_filter)BPF_STMT(code, k)
    // Indices of the shared returns, filled in once the program's length is known.
    int deny_jumps[refused_count + 8];
    int deny_count = 0;

    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    // Another ABI (i386 or x32 on x86_64) would reach other system call numbers: refuse it all.
    ADD(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    ADD(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
#endif
    for (int i = 0; i < refused_count; i++) {
        deny_jumps[deny_count++] = n;
        ADD(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)refused[i], 0, 0);
    }
    // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libc use clone.
    ADD(BPF_JMP | BPF_JEQ | BPF_K, 435, 0, 1);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    // clone that would create a namespace.
    ADD(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
    STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LOW);
    deny_jumps[deny_count++] = n;
    ADD(BPF_JMP | BPF_JSET | BPF_K, NAMESPACE_FLAGS, 0, 0);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    // ioctl TIOCSTI (typing into a terminal) and TIOCLINUX; every other call falls through to allow.
    ADD(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3);
    STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LOW);
    deny_jumps[deny_count++] = n;
    ADD(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 0, 0);
    deny_jumps[deny_count++] = n;
    ADD(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 0);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    int deny = n;
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    for (int i = 0; i < deny_count; i++) {
        int distance = deny - deny_jumps[i] - 1;
        if (distance > 255) return -1;
        program[deny_jumps[i]].jt = (unsigned char)distance;
    }
#undef ADD
#undef STMT
    int length = n * (int)sizeof(struct sock_filter);
    if (length > capacity) return -1;
    memcpy(buffer, program, (size_t)length);
    return length;
}
