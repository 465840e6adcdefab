// epoll and eventfd for ParkMQTT's I/O threads, prctl and malloc_trim for worker processes: Swift's Glibc module
// does not export these headers, and prctl is variadic, which Swift cannot call.
#ifndef PARKBENCH_CLINUXEVENTS_H
#define PARKBENCH_CLINUXEVENTS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <malloc.h>

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
#endif
