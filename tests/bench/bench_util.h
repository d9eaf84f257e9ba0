/* Helpers every bench had its own copy of: clocks, a process's CPU time and memory from /proc,
 * the machine's busy time, and the comparator to sort figures. Linux only (/proc). */
#ifndef LPG_BENCH_UTIL_H
#define LPG_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_mono_ns(void);

/* utime + stime of pid in seconds (/proc/<pid>/stat fields 14 and 15), or -1. */
double bench_proc_cpu_s(pid_t pid);

/* A "Name:   123 kB" field of /proc/<pid>/status in bytes (VmRSS, RssAnon), or -1. */
long long bench_proc_status_bytes(pid_t pid, const char *field);

/* Busy CPU time of the whole machine, seconds (/proc/stat: all but idle and iowait), or -1. */
double bench_machine_busy_s(void);

/* User + system CPU time of this process, seconds. */
double bench_self_cpu_s(void);

/* qsort comparator of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

#endif
