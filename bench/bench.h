/* Helpers shared by the benchmark programs (each bench is one .c file that
 * includes this header once): clock, medians, a test-data generator, the
 * machine description, and the markdown table that is printed and kept for
 * bench/results/. */
#ifndef POL_BENCH_H
#define POL_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), 1 <= n <= 256; v is not changed. */
static inline double bench_median(const double *v, int n)
{
    double t[256];
    if (n < 1 || n > 256)
        return 0.0 / 0.0;
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof t[0], bench_cmp_double);
    return n & 1 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* splitmix64: test data only, never the library's RNG. */
static inline uint64_t bench_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The value of the first /proc/cpuinfo line starting with `key` ("unknown"). */
static inline void bench_cpuinfo(const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char *line = NULL, *p;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        if (strncmp(line, key, strlen(key)) || !(p = strchr(line, ':')))
            continue;
        for (p++; *p == ' ' || *p == '\t'; p++)
            ;
        p[strcspn(p, "\n")] = 0;
        snprintf(buf, cap, "%s", p);
        break;
    }
    free(line);
    fclose(f);
}

static inline void bench_cpu_model(char *buf, size_t cap) { bench_cpuinfo("model name", buf, cap); }

/* 1 when /proc/cpuinfo's flags list `flag`, 0 when not, -1 when unknown. */
static inline int bench_cpu_flag(const char *flag)
{
    static char flags[8192];
    char want[64];
    bench_cpuinfo("flags", flags, sizeof flags);
    if (!strcmp(flags, "unknown"))
        return -1;
    snprintf(want, sizeof want, " %s ", flag);
    size_t n = strlen(flags);
    if (n + 2 < sizeof flags) { /* pad so every flag has a space on both sides */
        memmove(flags + 1, flags, n + 1);
        flags[0] = ' ';
        strcat(flags, " ");
    }
    return strstr(flags, want) != NULL;
}

/* The 1-minute load average, or -1. */
static inline double bench_loadavg(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

/* The table: every bench_emit line goes to stdout and to bench_table. */
static char *bench_table;
static size_t bench_table_len, bench_table_cap;

static inline void bench_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void bench_emit(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fputs(line, stdout);
    fflush(stdout);
    size_t n = strlen(line);
    if (bench_table_len + n + 1 > bench_table_cap) {
        size_t cap = bench_table_cap ? 2 * bench_table_cap : 4096;
        while (cap < bench_table_len + n + 1)
            cap *= 2;
        char *t = realloc(bench_table, cap);
        if (!t) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
        bench_table = t;
        bench_table_cap = cap;
    }
    memcpy(bench_table + bench_table_len, line, n + 1);
    bench_table_len += n;
}

#endif
