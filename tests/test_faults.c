/* Failing system calls: what libpol's file writers leave behind when the disk
 * fills, fsync reports an I/O error, a rename is refused or another writer
 * races them; and whether its network frames survive sockets that move a
 * few bytes at a time.
 *
 * The suite defines write, pwrite, pwrite64, fsync, fdatasync, close,
 * fchmod, mkstemp, mkostemp, rename, renameat2, link, read, send, sendmsg
 * and recv itself. Its libpol is linked in statically, and the executable's
 * definitions come first for the shared libraries too (SQLite writes the
 * ledger with pwrite and fdatasync), so these calls reach the definitions
 * below; each passes the call on to the C library (dlsym RTLD_NEXT) unless a
 * fault is armed for it. A fault acts on the nth call of its function
 * counted from the moment it is armed:
 *   STICKY  that call and every later one fail with the fault's errno (a
 *           full disk stays full);
 *   ONCE    that call alone fails (EINTR, a transient error);
 *   SHORT   that call writes half of what it was asked (a short write);
 *   RACE    a racing writer creates the target just before that call;
 *   DRIBBLE (sockets) that call and every later one move at most a few
 *           bytes, and every fourth one fails with EINTR first.
 * Most cases sweep n over every call the operation makes.
 *
 * What is checked, against the contracts of include/pol/fileio.h, keys.h,
 * train.h and ledger.h (spec/encoding.md [E-ST-14], spec/wire.md
 * [W-KEYFILE-1], spec/checkpoint.md [C-WHEN-3], spec/ledger.md [L-FILE-3],
 * [L-EV-1]): the status and a message naming the file; the target holds its
 * old content, or none, or the whole new content, as the contract says; no
 * temporary file stays; a training run stopped by any fault and then resumed
 * ends on the very files of an undisturbed run; a ledger event whose commit
 * fails is not in the ledger; a client and a server on dribbling sockets
 * exchange the very bytes they would on good ones (spec/net.md
 * [N-FRAME-1]). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pol/fileio.h"
#include "pol/hash.h"
#include "pol/keys.h"
#include "pol/ledger.h"
#include "pol/net.h"
#include "pol/train.h"
#include "testutil.h"

/* ------------------------------------------------------- interposers -- */

enum {
    F_WRITE, F_PWRITE, F_FSYNC, F_FDATASYNC, F_CLOSE, F_FCHMOD, F_MKSTEMP, F_RENAME,
    F_RENAMEAT2, F_LINK, F_SEND, F_RECV, F_READ, F_N
};
static const char *const FN_NAME[F_N] = { "write",     "pwrite", "fsync",     "fdatasync",
                                          "close",     "fchmod", "mkstemp",   "rename",
                                          "renameat2", "link",   "send/sendmsg", "recv",
                                          "read" };

enum { OFF, STICKY, ONCE, SHORT, RACE, DRIBBLE };

typedef struct {
    int fn, mode;
    long nth;
    int err;
} fault;

static fault ARMED[F_N];  /* by function; mode OFF when unarmed */
static long CALLS[F_N];   /* calls since the last arm() */
static char RACE_PATH[1200];
static const char RACER[] = "a file another writer put there\n";

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_fchmod)(int, mode_t);
static int (*real_mkstemp)(char *);
static int (*real_mkostemp)(char *, int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_link)(const char *, const char *);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_read)(int, void *, size_t);

/* Called before the first thread starts (from main, or from the first
 * interposed call, whichever comes first). */
static void resolve(void)
{
    if (real_link)
        return;
#define RESOLVE(var, name) var = (__typeof__(var))dlsym(RTLD_NEXT, name)
    RESOLVE(real_write, "write");
    RESOLVE(real_pwrite, "pwrite");
    RESOLVE(real_pwrite64, "pwrite64");
    RESOLVE(real_fsync, "fsync");
    RESOLVE(real_fdatasync, "fdatasync");
    RESOLVE(real_close, "close");
    RESOLVE(real_fchmod, "fchmod");
    RESOLVE(real_mkstemp, "mkstemp");
    RESOLVE(real_mkostemp, "mkostemp");
    RESOLVE(real_rename, "rename");
    RESOLVE(real_renameat2, "renameat2");
    RESOLVE(real_link, "link");
    RESOLVE(real_send, "send");
    RESOLVE(real_sendmsg, "sendmsg");
    RESOLVE(real_recv, "recv");
    RESOLVE(real_read, "read");
#undef RESOLVE
    if (!real_write || !real_pwrite || !real_pwrite64 || !real_fsync || !real_fdatasync ||
        !real_close || !real_fchmod || !real_mkstemp || !real_mkostemp || !real_rename ||
        !real_renameat2 || !real_link || !real_send || !real_sendmsg || !real_recv ||
        !real_read)
        abort();
}

/* Counts a call of fn and says what the armed fault makes of it: OFF (pass
 * it on), or the fault's mode. The background checkpoint writer calls from
 * its own thread, hence the atomics. */
static int hit(int fn)
{
    resolve();
    long n = __atomic_add_fetch(&CALLS[fn], 1, __ATOMIC_SEQ_CST);
    int mode = __atomic_load_n(&ARMED[fn].mode, __ATOMIC_SEQ_CST);
    int from_nth = mode == STICKY || mode == DRIBBLE;
    if (mode == OFF || n < ARMED[fn].nth || (!from_nth && n != ARMED[fn].nth))
        return OFF;
    if (mode == RACE) {
        FILE *f = fopen(RACE_PATH, "wx");
        if (f) {
            fputs(RACER, f);
            fclose(f);
        }
    }
    return mode;
}

static int fails(int fn)
{
    int m = hit(fn);
    if (m == STICKY || m == ONCE) {
        errno = ARMED[fn].err;
        return 1;
    }
    return 0;
}

/* What a fault makes of a write (or read) of *n bytes: -1 (fail, errno
 * set), or 0 with *n the bytes to pass on. */
static int write_fault(int fn, size_t *n)
{
    int m = hit(fn);
    if (m == STICKY || m == ONCE) {
        errno = ARMED[fn].err;
        return -1;
    }
    if (m == SHORT && *n > 1)
        *n /= 2;
    return 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    return write_fault(F_WRITE, &n) ? -1 : real_write(fd, buf, n);
}

/* A short read gives half of what was asked, as a write does. */
ssize_t read(int fd, void *buf, size_t n)
{
    return write_fault(F_READ, &n) ? -1 : real_read(fd, buf, n);
}

/* SQLite's (the ledger's) writes, whichever of the two its build uses */
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return write_fault(F_PWRITE, &n) ? -1 : real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return write_fault(F_PWRITE, &n) ? -1 : real_pwrite64(fd, buf, n, off);
}

int fsync(int fd) { return fails(F_FSYNC) ? -1 : real_fsync(fd); }
int fdatasync(int fd) { return fails(F_FDATASYNC) ? -1 : real_fdatasync(fd); }

/* A failing close still closes, as on Linux. */
int close(int fd)
{
    int m = fails(F_CLOSE), e = errno;
    int rc = real_close(fd);
    if (m) {
        errno = e;
        return -1;
    }
    return rc;
}

int fchmod(int fd, mode_t mode) { return fails(F_FCHMOD) ? -1 : real_fchmod(fd, mode); }
int mkstemp(char *t) { return fails(F_MKSTEMP) ? -1 : real_mkstemp(t); }
int mkostemp(char *t, int flags) { return fails(F_MKSTEMP) ? -1 : real_mkostemp(t, flags); }
int rename(const char *a, const char *b) { return fails(F_RENAME) ? -1 : real_rename(a, b); }
int link(const char *a, const char *b) { return fails(F_LINK) ? -1 : real_link(a, b); }
int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
    return fails(F_RENAMEAT2) ? -1 : real_renameat2(da, a, db, b, flags);
}

/* What a dribbling socket makes of a transfer of *n bytes: -1 (EINTR), or
 * 0 with *n cut to 1..13 bytes (by the call's count). */
static int dribble(int fn, size_t *n)
{
    if (hit(fn) != DRIBBLE)
        return 0;
    long k = __atomic_load_n(&CALLS[fn], __ATOMIC_SEQ_CST);
    if (k % 4 == 0) {
        errno = EINTR;
        return -1;
    }
    size_t most = (size_t)(k % 13) + 1;
    if (*n > most)
        *n = most;
    return 0;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return dribble(F_SEND, &n) ? -1 : real_send(fd, buf, n, flags);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return dribble(F_RECV, &n) ? -1 : real_recv(fd, buf, n, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    size_t total = 0;
    for (size_t i = 0; i < m->msg_iovlen; i++)
        total += m->msg_iov[i].iov_len;
    size_t n = total;
    if (dribble(F_SEND, &n))
        return -1;
    if (n == total)
        return real_sendmsg(fd, m, flags);
    /* the first n bytes of the message: its pieces cut there */
    struct iovec iov[8];
    struct msghdr cut = *m;
    size_t k = 0;
    for (size_t i = 0; i < m->msg_iovlen && n > 0 && k < 8; i++, k++) {
        iov[k] = m->msg_iov[i];
        if (iov[k].iov_len > n)
            iov[k].iov_len = n;
        n -= iov[k].iov_len;
    }
    cut.msg_iov = iov;
    cut.msg_iovlen = k;
    return real_sendmsg(fd, &cut, flags);
}

/* Arms the faults f (n of them; nth from 1) and zeroes every counter. */
static void arm(const fault *f, int n)
{
    memset(CALLS, 0, sizeof CALLS);
    for (int i = 0; i < n; i++)
        ARMED[f[i].fn] = f[i];
}

static void disarm(void)
{
    for (int i = 0; i < F_N; i++)
        __atomic_store_n(&ARMED[i].mode, OFF, __ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------- helpers -- */

/* The bytes of path; NULL (and *len 0) when it does not exist. */
static uint8_t *contents(const char *path, size_t *len)
{
    uint8_t *b;
    pol_status st = pol_read_file(path, 1u << 26, &b, len);
    if (st == POL_ERR_NOT_FOUND)
        return NULL;
    if (st)
        fail_msg("read %s: %s", path, pol_last_error());
    return b;
}

static void expect_file(const char *path, const void *want, size_t want_len)
{
    size_t len;
    uint8_t *b = contents(path, &len);
    if (!want) {
        if (b)
            fail_msg("%s exists (%zu bytes); it should not", path, len);
        return;
    }
    if (!b)
        fail_msg("%s is missing", path);
    if (len != want_len || memcmp(b, want, len))
        fail_msg("%s holds other bytes than expected (%zu bytes, want %zu)", path, len,
                 want_len);
    free(b);
}

/* --------------------------------------------------------- pol_read_file -- */

/* A read that fails at any call is POL_ERR_IO naming the file, with no
 * buffer; short and interrupted reads anywhere still give the whole file. */
static void test_read_file(void **st)
{
    (void)st;
    static uint8_t data[70001];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 17 + 3);
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(path, sizeof path, "%s/f", dir);
    assert_int_equal(pol_write_file_atomic(path, data, sizeof data, 0), POL_OK);
    static const fault cases[] = {
        { F_READ, STICKY, 1, EIO }, { F_READ, SHORT, 1, 0 }, { F_READ, ONCE, 1, EINTR } };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long nth = 1;
        for (;; nth++) {
            fault f = cases[k];
            f.nth = nth;
            arm(&f, 1);
            uint8_t *buf;
            size_t len;
            pol_status s = pol_read_file(path, sizeof data, &buf, &len);
            disarm();
            if (CALLS[F_READ] < nth) {
                assert_int_equal(s, POL_OK);
                free(buf);
                break;
            }
            if (f.mode == STICKY) {
                if (s != POL_ERR_IO || buf || len || !strstr(pol_last_error(), path))
                    fail_msg("read fails at call %ld: status %d (%s)", nth, s, pol_last_error());
                continue;
            }
            if (s != POL_OK)
                fail_msg("%s read at call %ld: status %d (%s)",
                         f.mode == SHORT ? "a short" : "an interrupted", nth, s,
                         pol_last_error());
            assert_int_equal(len, sizeof data);
            assert_memory_equal(buf, data, len);
            free(buf);
        }
        assert_true(nth > 2); /* the sweep met the read and the end-of-file probe */
    }
    tu_dir_remove(dir);
}

/* ------------------------------------------- pol_write_file_atomicv -- */

enum { KEEP_OLD, NEW, RACER_FILE };

typedef struct {
    const char *what;
    fault f[3];         /* f[0] is swept over n when `sweep` */
    int nf, sweep;
    int overwrite;      /* 1: the target holds OLD before; 0: it does not exist */
    pol_status want;
    int content;        /* what the target holds afterwards */
} atomic_case;

static const atomic_case ATOMIC_CASES[] = {
    { "disk full at any write", { { F_WRITE, STICKY, 1, ENOSPC } }, 1, 1, 1, POL_ERR_IO, KEEP_OLD },
    { "disk full at any write, new file", { { F_WRITE, STICKY, 1, ENOSPC } }, 1, 1, 0,
      POL_ERR_IO, KEEP_OLD },
    { "a short write anywhere", { { F_WRITE, SHORT, 1, 0 } }, 1, 1, 1, POL_OK, NEW },
    { "EINTR at any write", { { F_WRITE, ONCE, 1, EINTR } }, 1, 1, 1, POL_OK, NEW },
    { "no temporary file", { { F_MKSTEMP, STICKY, 1, EMFILE } }, 1, 0, 1, POL_ERR_IO, KEEP_OLD },
    { "chmod refused", { { F_FCHMOD, STICKY, 1, EPERM } }, 1, 0, 1, POL_ERR_IO, KEEP_OLD },
    { "fsync of the file fails", { { F_FSYNC, STICKY, 1, EIO } }, 1, 0, 1, POL_ERR_IO,
      KEEP_OLD },
    { "close reports a deferred error", { { F_CLOSE, ONCE, 1, EIO } }, 1, 0, 1, POL_ERR_IO,
      KEEP_OLD },
    /* the content is in place but its rename may not be durable: reported */
    { "fsync of the directory fails", { { F_FSYNC, ONCE, 2, EIO } }, 1, 0, 1, POL_ERR_IO, NEW },
    { "the directory cannot be fsynced", { { F_FSYNC, ONCE, 2, EINVAL } }, 1, 0, 1, POL_OK, NEW },
    { "rename fails", { { F_RENAME, STICKY, 1, EXDEV } }, 1, 0, 1, POL_ERR_IO, KEEP_OLD },
    { "renameat2 fails", { { F_RENAMEAT2, STICKY, 1, EIO } }, 1, 0, 0, POL_ERR_IO, KEEP_OLD },
    { "no RENAME_NOREPLACE: link", { { F_RENAMEAT2, STICKY, 1, EINVAL } }, 1, 0, 0, POL_OK,
      NEW },
    { "neither RENAME_NOREPLACE nor link: check, then rename",
      { { F_RENAMEAT2, STICKY, 1, EINVAL }, { F_LINK, STICKY, 1, EPERM } }, 2, 0, 0, POL_OK,
      NEW },
    { "no RENAME_NOREPLACE, link fails",
      { { F_RENAMEAT2, STICKY, 1, EINVAL }, { F_LINK, STICKY, 1, EIO } }, 2, 0, 0, POL_ERR_IO,
      KEEP_OLD },
    { "neither, and the rename fails",
      { { F_RENAMEAT2, STICKY, 1, ENOSYS }, { F_LINK, STICKY, 1, EPERM },
        { F_RENAME, STICKY, 1, EIO } },
      3, 0, 0, POL_ERR_IO, KEEP_OLD },
    { "a racing writer before renameat2", { { F_RENAMEAT2, RACE, 1, 0 } }, 1, 0, 0,
      POL_ERR_EXISTS, RACER_FILE },
    { "a racing writer before link",
      { { F_RENAMEAT2, STICKY, 1, EOPNOTSUPP }, { F_LINK, RACE, 1, 0 } }, 2, 0, 0,
      POL_ERR_EXISTS, RACER_FILE },
};

static void test_atomic_write(void **st)
{
    (void)st;
    static uint8_t a[5000], c[70001];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof c; i++)
        c[i] = (uint8_t)(i * 13 + 1);
    const pol_iovec parts[3] = { { a, sizeof a }, { NULL, 0 }, { c, sizeof c } };
    uint8_t *whole = malloc(sizeof a + sizeof c);
    assert_non_null(whole);
    memcpy(whole, a, sizeof a);
    memcpy(whole + sizeof a, c, sizeof c);
    static const char old[] = "the old content\n";

    for (size_t k = 0; k < sizeof ATOMIC_CASES / sizeof ATOMIC_CASES[0]; k++) {
        const atomic_case *tc = &ATOMIC_CASES[k];
        long reached = 0;
        for (long nth = 1;; nth++) {
            char dir[600], path[700], names[256];
            snprintf(dir, sizeof dir, "%s", tu_tmpdir());
            snprintf(path, sizeof path, "%s/f", dir);
            snprintf(RACE_PATH, sizeof RACE_PATH, "%s", path);
            if (tc->overwrite)
                assert_int_equal(pol_write_file_atomic(path, old, sizeof old - 1, 0), POL_OK);
            fault f[3];
            memcpy(f, tc->f, sizeof f);
            if (tc->sweep)
                f[0].nth = nth;
            arm(f, tc->nf);
            pol_status s = pol_write_file_atomicv(path, parts, 3, tc->overwrite);
            disarm();
            reached = CALLS[f[0].fn];
            if (tc->sweep && reached < nth) { /* the operation ended before the fault */
                tu_dir_remove(dir);
                break;
            }
            if (s != tc->want)
                fail_msg("%s (call %ld): status %d (%s), want %d", tc->what, f[0].nth, s,
                         pol_last_error(), tc->want);
            if (s != POL_OK && !strstr(pol_last_error(), path))
                fail_msg("%s: the message does not name %s: %s", tc->what, path,
                         pol_last_error());
            if (tc->content == NEW)
                expect_file(path, whole, sizeof a + sizeof c);
            else if (tc->content == RACER_FILE)
                expect_file(path, RACER, sizeof RACER - 1);
            else
                expect_file(path, tc->overwrite ? old : NULL, sizeof old - 1);
            tu_dir_list(dir, names, sizeof names);
            const char *want_names = tc->content == KEEP_OLD && !tc->overwrite ? "" : "f";
            if (strcmp(names, want_names))
                fail_msg("%s (call %ld): the directory holds \"%s\", want \"%s\"", tc->what,
                         f[0].nth, names, want_names);
            tu_dir_remove(dir);
            if (!tc->sweep)
                break;
        }
        if (reached == 0)
            fail_msg("%s: the operation never called %s", tc->what, FN_NAME[tc->f[0].fn]);
    }
    free(whole);
}

/* ---------------------------------------------------------- key files -- */

typedef struct {
    const char *what;
    fault f;
    int sweep;
    pol_status want;
} key_case;

static const key_case KEY_CASES[] = {
    { "no temporary file", { F_MKSTEMP, STICKY, 1, ENOSPC }, 0, POL_ERR_IO },
    { "chmod refused", { F_FCHMOD, STICKY, 1, EPERM }, 0, POL_ERR_IO },
    { "disk full", { F_WRITE, STICKY, 1, ENOSPC }, 1, POL_ERR_IO },
    { "a short write", { F_WRITE, SHORT, 1, 0 }, 1, POL_OK },
    { "EINTR", { F_WRITE, ONCE, 1, EINTR }, 1, POL_OK },
    { "fsync of the file fails", { F_FSYNC, STICKY, 1, EIO }, 0, POL_ERR_IO },
    { "close reports a deferred error", { F_CLOSE, ONCE, 1, EIO }, 0, POL_ERR_IO },
    { "link fails", { F_LINK, STICKY, 1, EIO }, 0, POL_ERR_IO },
    { "a racing writer before link", { F_LINK, RACE, 1, 0 }, 0, POL_ERR_EXISTS },
    { "fsync of the directory fails", { F_FSYNC, ONCE, 2, EIO }, 0, POL_ERR_IO },
    { "the directory cannot be fsynced", { F_FSYNC, ONCE, 2, EINVAL }, 0, POL_OK },
};

/* pol_seckey_save: "on failure no file is left" [W-KEYFILE-1], a racing
 * writer's file survives, and a key that was saved reads back, mode 0600. */
static void test_key_file(void **st)
{
    (void)st;
    uint8_t sec[32];
    for (int i = 0; i < 32; i++)
        sec[i] = (uint8_t)(i + 1);
    pol_keypair kp;
    assert_int_equal(pol_keypair_from_secret(sec, &kp), POL_OK);
    for (size_t k = 0; k < sizeof KEY_CASES / sizeof KEY_CASES[0]; k++) {
        const key_case *tc = &KEY_CASES[k];
        for (long nth = 1;; nth++) {
            char dir[600], path[700], names[256];
            snprintf(dir, sizeof dir, "%s", tu_tmpdir());
            snprintf(path, sizeof path, "%s/key", dir);
            snprintf(RACE_PATH, sizeof RACE_PATH, "%s", path);
            fault f = tc->f;
            if (tc->sweep)
                f.nth = nth;
            arm(&f, 1);
            pol_status s = pol_seckey_save(path, &kp);
            disarm();
            if (tc->sweep && CALLS[f.fn] < nth) {
                tu_dir_remove(dir);
                break;
            }
            if (s != tc->want)
                fail_msg("%s (call %ld): status %d (%s), want %d", tc->what, f.nth, s,
                         pol_last_error(), tc->want);
            tu_dir_list(dir, names, sizeof names);
            if (s == POL_OK) {
                struct stat sb;
                assert_int_equal(stat(path, &sb), 0);
                assert_int_equal(sb.st_mode & 0777, 0600);
                pol_keypair back;
                uint8_t p1[POL_PUBKEY_LEN], p2[POL_PUBKEY_LEN];
                assert_int_equal(pol_seckey_load(path, &back), POL_OK);
                assert_int_equal(pol_keypair_pubkey(&kp, p1), POL_OK);
                assert_int_equal(pol_keypair_pubkey(&back, p2), POL_OK);
                assert_memory_equal(p1, p2, POL_PUBKEY_LEN);
                pol_keypair_clear(&back);
            } else if (!strstr(pol_last_error(), path)) {
                fail_msg("%s: the message does not name %s: %s", tc->what, path,
                         pol_last_error());
            }
            if (tc->f.mode == RACE)
                expect_file(path, RACER, sizeof RACER - 1);
            const char *want_names = s == POL_OK || tc->f.mode == RACE ? "key" : "";
            if (strcmp(names, want_names))
                fail_msg("%s (call %ld): the directory holds \"%s\", want \"%s\"", tc->what,
                         f.nth, names, want_names);
            tu_dir_remove(dir);
            if (!tc->sweep)
                break;
        }
    }
    pol_keypair_clear(&kp);
}

/* ------------------------------------------------------ training runs -- */

static const char TASK[] = "spec/vectors/tiny/adamw-gelu.json";

static pol_status train(const char *dir, int resume, int sync, pol_digest *final)
{
    pol_ctx *ctx;
    pol_ctx_opts o = { .threads = 1, .kernels = POL_KERNELS_FAST };
    assert_int_equal(pol_ctx_create(&ctx, &o), POL_OK);
    pol_run_opts ro = { 0 };
    ro.task_path = TASK, ro.out_dir = dir, ro.resume = resume, ro.sync_checkpoints = sync;
    pol_run_result r;
    pol_status s = pol_run_train(ctx, &ro, &r);
    pol_ctx_destroy(ctx);
    if (!s && final)
        *final = r.final_state_hash;
    return s;
}

typedef struct {
    const char *what;
    fault f;
} run_case;

static const run_case RUN_CASES[] = {
    { "disk full", { F_WRITE, STICKY, 1, ENOSPC } },
    { "fsync fails", { F_FSYNC, STICKY, 1, EIO } },
    { "no temporary file", { F_MKSTEMP, STICKY, 1, ENOSPC } },
    { "a checkpoint's renameat2 fails", { F_RENAMEAT2, STICKY, 1, EIO } },
    { "trace.json's rename fails", { F_RENAME, STICKY, 1, EIO } },
};

/* A run stopped by a failing call at any point, in either checkpoint mode,
 * reports POL_ERR_IO naming its directory, leaves no temporary file and a
 * trace.json (if any) whose checkpoints load; resumed (or started again
 * when the very first trace.json was never written), it ends on exactly the
 * files of an undisturbed run [C-WHEN-3, C-RUN-2]. Short writes anywhere
 * change nothing at all. */
static void test_training_run(void **st)
{
    (void)st;
    char ref[600];
    snprintf(ref, sizeof ref, "%s", tu_tmpdir());
    pol_digest want;
    arm(NULL, 0);
    assert_int_equal(train(ref, 0, 1, &want), POL_OK);
    long clean[F_N];
    memcpy(clean, CALLS, sizeof clean);
    size_t ref_len;
    char *ref_files = tu_dir_snapshot(ref, &ref_len);
    tu_dir_remove(ref);

    long runs = 0;
    for (int sync = 0; sync < 2; sync++) {
        for (size_t k = 0; k <= sizeof RUN_CASES / sizeof RUN_CASES[0]; k++) {
            /* k == the number of cases: short writes, swept like the rest */
            const run_case shortw = { "a short write", { F_WRITE, SHORT, 1, 0 } };
            const run_case *tc = k < sizeof RUN_CASES / sizeof RUN_CASES[0] ? &RUN_CASES[k]
                                                                           : &shortw;
            assert_true(clean[tc->f.fn] > 0);
            for (long nth = 1; nth <= clean[tc->f.fn]; nth++) {
                char dir[600];
                snprintf(dir, sizeof dir, "%s", tu_tmpdir());
                fault f = tc->f;
                f.nth = nth;
                arm(&f, 1);
                pol_status s = train(dir, 0, sync, NULL);
                disarm();
                runs++;
                if (tc->f.mode == SHORT) {
                    if (s != POL_OK)
                        fail_msg("%s (call %ld): status %d (%s)", tc->what, nth, s,
                                 pol_last_error());
                } else {
                    if (s != POL_ERR_IO || !strstr(pol_last_error(), dir))
                        fail_msg("%s (call %ld of %ld, %s writer): status %d (%s), want "
                                 "POL_ERR_IO naming %s",
                                 tc->what, nth, clean[tc->f.fn], sync ? "sync" : "background",
                                 s, pol_last_error(), dir);
                    char names[4096];
                    tu_dir_list(dir, names, sizeof names);
                    if (strstr(names, ".tmp-"))
                        fail_msg("%s (call %ld): a temporary file stayed: %s", tc->what, nth,
                                 names);
                    char tp[700];
                    snprintf(tp, sizeof tp, "%s/trace.json", dir);
                    int have_trace = access(tp, F_OK) == 0;
                    pol_digest got;
                    s = train(dir, have_trace, sync, &got);
                    if (s != POL_OK)
                        fail_msg("%s (call %ld, %s writer): the %s failed: %d (%s)", tc->what,
                                 nth, sync ? "sync" : "background",
                                 have_trace ? "resume" : "new run", s, pol_last_error());
                    assert_memory_equal(got.b, want.b, 32);
                }
                size_t len;
                char *files = tu_dir_snapshot(dir, &len);
                if (len != ref_len || memcmp(files, ref_files, len))
                    fail_msg("%s (call %ld, %s writer): the run directory differs from an "
                             "undisturbed run's",
                             tc->what, nth, sync ? "sync" : "background");
                free(files);
                tu_dir_remove(dir);
            }
        }
    }
    printf("  %ld faulty runs; a clean run made %ld writes, %ld fsyncs, %ld renames\n", runs,
           clean[F_WRITE], clean[F_FSYNC], clean[F_RENAME] + clean[F_RENAMEAT2]);
    free(ref_files);
}

/* ------------------------------------------------------------ ledger -- */

static const uint8_t GENESIS[] = "a genesis";

/* Creation [L-FILE-3]: whatever call fails, the ledger's path either does
 * not exist or names a complete ledger, and no temporary file stays; a file
 * that a racing writer put there is opened as any existing file (and, not
 * being a ledger, refused and left as it was). Most failures fail the open;
 * a few come after SQLite's commit (the rollback journal's last header
 * write, as the open switches the file to WAL), which it completes anyway:
 * that handle then works, and what it appends stays. */
static void test_ledger_create(void **st)
{
    (void)st;
    static const fault cases[] = {
        { F_MKSTEMP, STICKY, 1, ENOSPC }, { F_PWRITE, STICKY, 1, ENOSPC },
        { F_FDATASYNC, STICKY, 1, EIO },  { F_FSYNC, STICKY, 1, EIO },
        { F_LINK, STICKY, 1, EIO },       { F_LINK, RACE, 1, 0 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long nth = 1;
        for (;; nth++) {
            char dir[600], path[700], names[256];
            snprintf(dir, sizeof dir, "%s", tu_tmpdir());
            snprintf(path, sizeof path, "%s/l.db", dir);
            snprintf(RACE_PATH, sizeof RACE_PATH, "%s", path);
            fault f = cases[k];
            f.nth = nth;
            arm(&f, 1);
            pol_ledger *l = NULL;
            pol_status s = pol_ledger_open(path, GENESIS, sizeof GENESIS, &l);
            disarm();
            long reached = CALLS[f.fn];
            uint64_t seq, head = 0, t;
            if (!s) /* the handle works, the fault gone */
                assert_int_equal(pol_ledger_append(l, 1, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
            pol_ledger_close(l);
            if (reached < nth) {
                assert_int_equal(s, POL_OK);
                tu_dir_remove(dir);
                break;
            }
            tu_dir_list(dir, names, sizeof names);
            if (f.mode == RACE) {
                if (s != POL_ERR_FORMAT || strcmp(names, "l.db"))
                    fail_msg("a racing writer: status %d (%s), files \"%s\"", s,
                             pol_last_error(), names);
                expect_file(path, RACER, sizeof RACER - 1);
            } else {
                if (strcmp(names, "l.db") && (s == POL_OK || strcmp(names, "")))
                    fail_msg("%s fails at call %ld: status %d (%s), files \"%s\"",
                             FN_NAME[f.fn], nth, s, s ? pol_last_error() : "", names);
                /* what is there is complete: it opens, with its genesis, and
                 * holds the event appended through a handle that opened */
                assert_int_equal(pol_ledger_open(path, GENESIS, sizeof GENESIS, &l), POL_OK);
                assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
                assert_int_equal(head, s ? 0 : 1);
                pol_ledger_close(l);
            }
            tu_dir_remove(dir);
        }
        if (nth == 1)
            fail_msg("creating a ledger never called %s", FN_NAME[cases[k].fn]);
    }
}

/* Appending [L-EV-1]: an event whose commit meets a failing write or sync is
 * POL_ERR_IO and is not in the ledger, neither through the handle nor after
 * reopening it, and the next append takes its seq. */
static void test_ledger_append(void **st)
{
    (void)st;
    static const fault cases[] = {
        { F_PWRITE, STICKY, 1, ENOSPC },
        { F_FDATASYNC, STICKY, 1, EIO },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long nth = 1;
        for (;; nth++) {
            char dir[600], path[700];
            snprintf(dir, sizeof dir, "%s", tu_tmpdir());
            snprintf(path, sizeof path, "%s/l.db", dir);
            pol_ledger *l;
            uint64_t seq, head, t;
            assert_int_equal(pol_ledger_open(path, GENESIS, sizeof GENESIS, &l), POL_OK);
            assert_int_equal(pol_ledger_append(l, 1, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
            fault f = cases[k];
            f.nth = nth;
            arm(&f, 1);
            pol_status s = pol_ledger_append(l, 2, NULL, 0, NULL, NULL, 0, &seq);
            disarm();
            int reached = CALLS[f.fn] >= nth;
            if (reached && s != POL_ERR_IO)
                fail_msg("%s fails at call %ld: the append's status is %d (%s)", FN_NAME[f.fn],
                         nth, s, pol_last_error());
            assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
            assert_int_equal(head, reached ? 1 : 2);
            pol_ledger_close(l);
            assert_int_equal(pol_ledger_open(path, NULL, 0, &l), POL_OK);
            assert_int_equal(pol_ledger_head(l, &head, &t), POL_OK);
            assert_int_equal(head, reached ? 1 : 2);
            assert_int_equal(pol_ledger_append(l, 3, NULL, 0, NULL, NULL, 0, &seq), POL_OK);
            assert_int_equal(seq, head + 1);
            pol_ledger_close(l);
            tu_dir_remove(dir);
            if (!reached)
                break;
        }
        if (nth == 1)
            fail_msg("an append never called %s", FN_NAME[cases[k].fn]);
    }
}

/* ----------------------------------------------------------- network -- */

static uint8_t BLOB[300007];
static pol_digest BLOB_HASH;

/* BLOB: the test blob; PIN: the query reversed. */
static pol_status net_handler(void *ctx, const uint8_t signer[POL_PUBKEY_LEN],
                              const pol_net_request *req, const pol_digest *request_id,
                              pol_net_response *resp)
{
    (void)ctx, (void)signer, (void)request_id;
    const uint8_t *src = req->kind == POL_NET_BLOB ? BLOB : req->data;
    size_t n = req->kind == POL_NET_BLOB ? sizeof BLOB : req->data_len;
    if (!(resp->data = malloc(n ? n : 1)))
        return pol_errorf(POL_ERR_NOMEM, "answer");
    for (size_t i = 0; i < n; i++)
        resp->data[i] = req->kind == POL_NET_BLOB ? src[i] : src[n - 1 - i];
    resp->data_len = n;
    resp->kind = req->kind;
    return POL_OK;
}

typedef struct {
    pol_net_server *srv;
    int stop;
} net_server;

static void *net_serve(void *arg)
{
    net_server *t = arg;
    while (!__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST))
        if (pol_net_server_poll(t->srv, 20) != POL_OK)
            break;
    return NULL;
}

/* Sockets that move a few bytes a call and are interrupted now and then,
 * on both sides (the client's send_all and recv_all, the server's conn_read
 * and conn_write): every frame still arrives whole, a header split
 * anywhere included [N-FRAME-1], and the answers are the very bytes of the
 * handler. */
static void test_network_dribble(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof BLOB; i++)
        BLOB[i] = (uint8_t)(i * 31 + (i >> 8));
    assert_int_equal(pol_sha256(BLOB, sizeof BLOB, &BLOB_HASH), POL_OK);
    uint8_t s1[32], s2[32], pub[POL_PUBKEY_LEN];
    for (int i = 0; i < 32; i++)
        s1[i] = (uint8_t)(i + 1), s2[i] = (uint8_t)(i + 2);
    pol_keypair ks, kc;
    assert_int_equal(pol_keypair_from_secret(s1, &ks), POL_OK);
    assert_int_equal(pol_keypair_from_secret(s2, &kc), POL_OK);
    assert_int_equal(pol_keypair_pubkey(&ks, pub), POL_OK);

    net_server t = { 0 };
    assert_int_equal(pol_net_server_open("127.0.0.1:0", &ks, net_handler, NULL, NULL, &t.srv),
                     POL_OK);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", pol_net_server_port(t.srv));
    const fault f[2] = { { F_SEND, DRIBBLE, 1, 0 }, { F_RECV, DRIBBLE, 1, 0 } };
    arm(f, 2);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, net_serve, &t), 0);

    pol_net_conn *c;
    assert_int_equal(pol_net_connect(addr, 20000, 0, pub, &c), POL_OK);
    for (int round = 0; round < 3; round++) {
        uint8_t q[1000 + 37];
        size_t qn = 1 + (size_t)round * 518;
        for (size_t i = 0; i < qn; i++)
            q[i] = (uint8_t)(i ^ (size_t)round);
        pol_net_request req = { .id = 10 + (uint64_t)round, .kind = POL_NET_PIN, .data = q,
                                .data_len = qn };
        pol_net_response r;
        uint8_t signer[POL_PUBKEY_LEN];
        pol_status s = pol_net_call(c, &kc, &req, &r, signer);
        if (s)
            fail_msg("round %d: pin call: %d (%s)", round, s, pol_last_error());
        assert_int_equal(r.status, 0);
        assert_int_equal(r.data_len, qn);
        for (size_t i = 0; i < qn; i++)
            assert_int_equal(r.data[i], q[qn - 1 - i]);
        pol_net_response_free(&r);
    }
    uint8_t *blob;
    size_t len;
    pol_status s = pol_net_fetch_blob(c, &kc, &BLOB_HASH, sizeof BLOB, &blob, &len);
    if (s)
        fail_msg("blob: %d (%s)", s, pol_last_error());
    assert_int_equal(len, sizeof BLOB);
    assert_memory_equal(blob, BLOB, len);
    free(blob);
    pol_net_close(c);

    __atomic_store_n(&t.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    disarm();
    pol_net_server_close(t.srv);
    /* the blob alone took tens of thousands of calls: the dribble was real */
    printf("  %ld sends, %ld receives\n", CALLS[F_SEND], CALLS[F_RECV]);
    assert_true(CALLS[F_SEND] > (long)(sizeof BLOB / 13));
    assert_true(CALLS[F_RECV] > (long)(sizeof BLOB / 13));
    pol_keypair_clear(&ks);
    pol_keypair_clear(&kc);
}

int main(void)
{
    resolve();
    (void)tu_seed(); /* nothing here is random; printed for uniformity */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_training_run),
        cmocka_unit_test(test_ledger_create),
        cmocka_unit_test(test_ledger_append),
        cmocka_unit_test(test_network_dribble),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
