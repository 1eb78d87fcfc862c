// Waiting for many children's exits on one thread: a pidfd per child in one epoll set.
#include "CCroniumSystem.h"
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

int cronium_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int cronium_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cronium_wakeup_create(void) { return eventfd(0, EFD_CLOEXEC); }

int cronium_wakeup(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

int cronium_epoll_watch_once(int epoll_fd, int fd) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | EPOLLONESHOT;
    event.data.fd = fd;
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

int cronium_epoll_ready(int epoll_fd, int *fds, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count;
    do {
        count = epoll_wait(epoll_fd, events, capacity, -1);
    } while (count < 0 && errno == EINTR);
    for (int index = 0; index < count; index++) fds[index] = events[index].data.fd;
    return count;
}
