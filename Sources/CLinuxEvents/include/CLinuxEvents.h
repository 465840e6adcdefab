// epoll and eventfd for ParkMQTT's I/O threads: Swift's Glibc module does not export these headers.
#ifndef PARKBENCH_CLINUXEVENTS_H
#define PARKBENCH_CLINUXEVENTS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
