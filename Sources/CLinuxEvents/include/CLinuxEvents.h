// epoll and eventfd for the I/O threads, ioctl for socket queues, prctl and malloc_trim for worker processes, sendmmsg and
// RUSAGE_THREAD for the RTP sender: Swift's Glibc module does not export these headers (sendmmsg and RUSAGE_THREAD are
// _GNU_SOURCE-only), and prctl and ioctl are variadic, which Swift cannot call.
#ifndef PARKBENCH_CLINUXEVENTS_H
#define PARKBENCH_CLINUXEVENTS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <fcntl.h>
#include <errno.h>
#include <unistd.h>
#include <stddef.h>

/// Adds to a spawn's file actions (a `posix_spawn_file_actions_t *`) the closing of every
/// descriptor from `lowest` up in the child — glibc's `posix_spawn_file_actions_addclosefrom_np`,
/// which is _GNU_SOURCE-only. 0, or an error number.
int parkbench_spawn_close_from(void *actions, int lowest);

// Declared by <stdlib.h> only under _XOPEN_SOURCE, which Swift's importer does not set.
extern int posix_openpt(int flags);
extern int grantpt(int fd);
extern int unlockpt(int fd);
extern int ptsname_r(int fd, char *buffer, size_t length);

/// Opens a pseudo-terminal for a simulated serial line: returns the master side's descriptor and
/// writes the slave side's path (what a serial master opens) into `path`; -1 with errno set.
static inline int parkbench_open_pty(char *path, size_t length) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, path, length) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

/// Returns freed heap memory to the kernel (glibc keeps it otherwise): after a large transient
/// allocation, such as loading a park, a long run should not carry it in its RSS.
static inline void parkbench_release_free_memory(void) {
    malloc_trim(0);
}

/// Asks the kernel to send `signal` to this process when the thread that started it exits, so a
/// worker never outlives a coordinator that was killed outright. Returns 0 or -1 (errno set).
static inline int parkbench_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

/// epoll without touching the packed `struct epoll_event` (12 bytes on x86-64, 16 elsewhere) from
/// Swift: C lays it out, Swift only holds an opaque buffer of `parkbench_epoll_event_size()`-byte
/// events. Registers `fd` for `events` with `token`, or changes it (`operation` EPOLL_CTL_*).
static inline int parkbench_epoll_control(int epoll_fd, int operation, int fd, unsigned int events,
                                          unsigned long long token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epoll_fd, operation, fd, &event);
}

/// The size of one `struct epoll_event`, for allocating the buffer `parkbench_epoll_wait` fills.
static inline size_t parkbench_epoll_event_size(void) {
    return sizeof(struct epoll_event);
}

/// Waits for up to `capacity` events into `buffer` (`capacity` events of
/// `parkbench_epoll_event_size()` bytes, suitably aligned); returns the count (-1, errno set).
static inline int parkbench_epoll_wait(int epoll_fd, void *buffer, int capacity, int timeout_ms) {
    return epoll_wait(epoll_fd, (struct epoll_event *)buffer, capacity, timeout_ms);
}

/// The token registered for the `index`th event `parkbench_epoll_wait` put in `buffer`.
static inline unsigned long long parkbench_epoll_event_token(const void *buffer, int index) {
    return ((const struct epoll_event *)buffer)[index].data.u64;
}

/// What the `index`th event in `buffer` is ready for (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
static inline unsigned int parkbench_epoll_event_mask(const void *buffer, int index) {
    return ((const struct epoll_event *)buffer)[index].events;
}

/// Bytes written to a TCP socket that its peer has not yet acknowledged (SIOCOUTQ), or -1. Zero
/// means the send queue is empty, so a small write can neither block nor be cut short.
static inline int parkbench_unacknowledged_bytes(int fd) {
    int count = 0;
    return ioctl(fd, SIOCOUTQ, &count) == 0 ? count : -1;
}

/// One datagram for `parkbench_send_datagrams`: a head (RTP header and any restamped bytes) and a
/// body (shared payload bytes), sent as one packet to `address`.
struct parkbench_datagram {
    const void *head;
    size_t head_length;
    const void *body;
    size_t body_length;
    const void *address;
    unsigned int address_length;
};

/// Sends up to `count` datagrams on `fd` with sendmmsg(2), two iovecs each, in system calls of at
/// most 64: the RTP sender's one call per batch instead of one per packet. Returns how many were
/// sent before the first failure (all of them on success), or -1 with errno set if the first one
/// failed. Defined in shim.c, the one file compiled with _GNU_SOURCE.
int parkbench_send_datagrams(int fd, const struct parkbench_datagram *datagrams, int count);

/// CPU time (user + system) of the calling thread in microseconds (getrusage RUSAGE_THREAD), or -1.
long long parkbench_thread_cpu_microseconds(void);

#endif
