// Most of CLinuxEvents is inline in the header. The functions here need _GNU_SOURCE (sendmmsg,
// struct mmsghdr, RUSAGE_THREAD), which must be defined before the first system header and so
// cannot be set in a header that other modules import.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <spawn.h>
#include "CLinuxEvents.h"

int parkbench_spawn_close_from(void *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, lowest);
}

int parkbench_send_datagrams(int fd, const struct parkbench_datagram *datagrams, int count) {
    enum { batch = 64 };
    struct mmsghdr messages[batch];
    struct iovec vectors[batch][2];
    int sent = 0;
    while (sent < count) {
        int chunk = count - sent < batch ? count - sent : batch;
        for (int i = 0; i < chunk; i++) {
            const struct parkbench_datagram *d = &datagrams[sent + i];
            vectors[i][0].iov_base = (void *)d->head;
            vectors[i][0].iov_len = d->head_length;
            vectors[i][1].iov_base = (void *)d->body;
            vectors[i][1].iov_len = d->body_length;
            struct msghdr *m = &messages[i].msg_hdr;
            m->msg_name = (void *)d->address;
            m->msg_namelen = d->address_length;
            m->msg_iov = vectors[i];
            m->msg_iovlen = d->body_length > 0 ? 2 : 1;
            m->msg_control = NULL;
            m->msg_controllen = 0;
            m->msg_flags = 0;
            messages[i].msg_len = 0;
        }
        int result = sendmmsg(fd, messages, (unsigned int)chunk, MSG_DONTWAIT);
        if (result < 0) return sent > 0 ? sent : -1;
        sent += result;
        if (result < chunk) break;  // the next one would fail: let the caller see why
    }
    return sent;
}

long long parkbench_thread_cpu_microseconds(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_THREAD, &usage) != 0) return -1;
    return (long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}
