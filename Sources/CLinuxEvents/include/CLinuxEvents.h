// epoll and eventfd for ParkMQTT's I/O threads, prctl for worker processes: Swift's Glibc module
// does not export these headers, and prctl is variadic, which Swift cannot call.
#ifndef PARKBENCH_CLINUXEVENTS_H
#define PARKBENCH_CLINUXEVENTS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// Asks the kernel to send `signal` to this process when the thread that started it exits, so a
/// worker never outlives a coordinator that was killed outright. Returns 0 or -1 (errno set).
static inline int parkbench_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}
#endif
