/* Distances between states (pol/distance.h). */
#include "pol/distance.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[POL_METRIC_COUNT + 1] = {
    NULL, "l1", "l2", "linf", "l1_rel", "l2_rel", "linf_rel", "cosine",
};

const char *pol_metric_name(pol_metric m)
{
    return m >= 1 && m <= POL_METRIC_COUNT ? NAMES[m] : NULL;
}

pol_metric pol_metric_from_name(const char *name)
{
    for (int m = 1; name && m <= POL_METRIC_COUNT; m++)
        if (!strcmp(name, NAMES[m]))
            return (pol_metric)m;
    return (pol_metric)0;
}

double pol_distance_get(const pol_distance *d, pol_metric m)
{
    switch (m) {
    case POL_METRIC_L1: return d->l1;
    case POL_METRIC_L2: return d->l2;
    case POL_METRIC_LINF: return d->linf;
    case POL_METRIC_L1_REL: return d->l1_rel;
    case POL_METRIC_L2_REL: return d->l2_rel;
    case POL_METRIC_LINF_REL: return d->linf_rel;
    case POL_METRIC_COSINE: return d->cosine;
    }
    return NAN;
}

/* Running sums of one comparison. */
typedef struct acc {
    double l1, sq, linf;       /* of d = a - b */
    double a_sq, b_l1, b_sq, b_inf;
    uint64_t n;
} acc;

static pol_status accumulate(acc *s, const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return pol_errorf(POL_ERR_FORMAT, "distance: %s: non-finite value at element %zu (%g vs %g)",
                              what, i, (double)a[i], (double)b[i]);
        const double x = a[i], y = b[i], d = x - y; /* exact: both are binary32 */
        const double ad = fabs(d), ay = fabs(y);
        s->l1 += ad;
        s->sq += d * d;
        if (ad > s->linf)
            s->linf = ad;
        s->a_sq += x * x;
        s->b_l1 += ay;
        s->b_sq += y * y;
        if (ay > s->b_inf)
            s->b_inf = ay;
    }
    s->n += n;
    return POL_OK;
}

static double ratio(double num, double den)
{
    if (den > 0.0)
        return num / den;
    return num == 0.0 ? 0.0 : INFINITY;
}

static void finish(const acc *s, pol_distance *o)
{
    memset(o, 0, sizeof *o);
    o->n = s->n;
    o->l1 = s->l1;
    o->l2 = sqrt(s->sq);
    o->linf = s->linf;
    o->l1_rel = ratio(o->l1, s->b_l1);
    o->l2_rel = ratio(o->l2, sqrt(s->b_sq));
    o->linf_rel = ratio(o->linf, s->b_inf);
    const double na = sqrt(s->a_sq), nb = sqrt(s->b_sq);
    if (na == 0.0 && nb == 0.0) {
        o->cosine = 0.0;
    } else if (na == 0.0 || nb == 0.0) {
        o->cosine = 1.0;
    } else {
        const double dn = na - nb;
        double c = (s->sq - dn * dn) / (2.0 * na * nb);
        o->cosine = c < 0.0 ? 0.0 : c > 2.0 ? 2.0 : c;
    }
}

pol_status pol_distance_f32(const float *a, const float *b, size_t n, pol_distance *out)
{
    if (!out || (n && (!a || !b)))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_distance_f32: NULL argument");
    memset(out, 0, sizeof *out);
    acc s = { 0 };
    pol_status st = accumulate(&s, a, b, n, "vector");
    if (st)
        return st;
    finish(&s, out);
    return POL_OK;
}

int pol_is_param_name(const char *name)
{
    if (!name || name[0] != 'l' || !isdigit((unsigned char)name[1]))
        return 0;
    const char *p = name + 1;
    while (isdigit((unsigned char)*p))
        p++;
    return p[0] == '.' && (p[1] == 'W' || p[1] == 'b') && p[2] == '\0';
}

static const char *const GROUP_NAMES[POL_GROUP_COUNT] = { "", "m", "v", "buf" };
static const char *const GROUP_LABELS[POL_GROUP_COUNT] = {
    "parameters", "m (AdamW first moments)", "v (AdamW second moments)",
    "buf (SGD momentum buffers)",
};

const char *pol_group_name(pol_state_group g)
{
    return (unsigned)g < POL_GROUP_COUNT ? GROUP_NAMES[g] : NULL;
}

const char *pol_group_label(pol_state_group g)
{
    return (unsigned)g < POL_GROUP_COUNT ? GROUP_LABELS[g] : "?";
}

int pol_group_from_name(const char *name)
{
    for (int g = 0; name && g < POL_GROUP_COUNT; g++)
        if (!strcmp(name, GROUP_NAMES[g]))
            return g;
    return -1;
}

/* 1 when name is "<param>.<suffix>". */
static int is_param_with(const char *name, const char *suffix)
{
    if (!name)
        return 0;
    const char *dot = strrchr(name, '.');
    char base[POL_NAME_MAX];
    size_t n = dot ? (size_t)(dot - name) : 0;
    if (!dot || strcmp(dot + 1, suffix) || n >= sizeof base)
        return 0;
    memcpy(base, name, n);
    base[n] = '\0';
    return pol_is_param_name(base);
}

int pol_is_m_name(const char *name) { return is_param_with(name, "m"); }
int pol_is_v_name(const char *name) { return is_param_with(name, "v"); }
int pol_is_buf_name(const char *name) { return is_param_with(name, "buf"); }

int (*pol_group_filter(pol_state_group g))(const char *name)
{
    switch (g) {
    case POL_GROUP_PARAMS: return pol_is_param_name;
    case POL_GROUP_M: return pol_is_m_name;
    case POL_GROUP_V: return pol_is_v_name;
    case POL_GROUP_BUF: return pol_is_buf_name;
    }
    return NULL;
}

int pol_state_group_of(const char *name)
{
    for (int g = 0; g < POL_GROUP_COUNT; g++)
        if (pol_group_filter((pol_state_group)g)(name))
            return g;
    return -1;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp((*(const pol_tensor *const *)x)->name, (*(const pol_tensor *const *)y)->name);
}

static const pol_tensor *find(const pol_tensor *const *ts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ts[i] && !strcmp(ts[i]->name, name))
            return ts[i];
    return NULL;
}

static void add_acc(acc *total, const acc *one)
{
    total->l1 += one->l1, total->sq += one->sq, total->a_sq += one->a_sq;
    total->b_l1 += one->b_l1, total->b_sq += one->b_sq, total->n += one->n;
    if (one->linf > total->linf)
        total->linf = one->linf;
    if (one->b_inf > total->b_inf)
        total->b_inf = one->b_inf;
}

/* The comparison of pol_state_distance and pol_state_distance_groups: the
 * F32 tensor named x goes to total[slot(x)] (none when it is negative);
 * with grouped, slot is pol_state_group_of, else 0 for the names include
 * accepts (all when NULL). */
static pol_status compare(const pol_tensor *const *a, size_t na, const pol_tensor *const *b,
                          size_t nb, int grouped, int (*include)(const char *name), acc *total,
                          unsigned *present, pol_tensor_distance *per, size_t *n_per)
{
    if (na != nb)
        return pol_errorf(POL_ERR_MISMATCH, "distance: the states hold %zu and %zu tensors", na, nb);
    const pol_tensor **order = malloc((nb ? nb : 1) * sizeof *order);
    if (!order)
        return pol_errorf(POL_ERR_NOMEM, "distance");
    for (size_t i = 0; i < nb; i++)
        order[i] = b[i];
    qsort(order, nb, sizeof *order, cmp_name);
    pol_status st = POL_OK;
    size_t k = 0;
    for (size_t i = 0; !st && i < nb; i++) {
        const pol_tensor *y = order[i], *x = find(a, na, y->name);
        if (i > 0 && !strcmp(order[i - 1]->name, y->name)) {
            st = pol_errorf(POL_ERR_MISMATCH, "distance: tensor %s appears twice", y->name);
            break;
        }
        if (!x) {
            st = pol_errorf(POL_ERR_MISMATCH, "distance: tensor %s is missing", y->name);
            break;
        }
        int same = x->dtype == y->dtype && x->ndim == y->ndim;
        for (int d = 0; same && d < y->ndim; d++)
            same = x->shape[d] == y->shape[d];
        if (!same || x->nbytes != y->nbytes) {
            st = pol_errorf(POL_ERR_SHAPE, "distance: tensor %s differs in dtype or shape", y->name);
            break;
        }
        if (y->dtype != POL_F32) {
            if (y->nbytes && memcmp(x->data, y->data, y->nbytes))
                st = pol_errorf(POL_ERR_MISMATCH, "distance: tensor %s differs", y->name);
            continue;
        }
        acc one = { 0 };
        size_t n = y->nbytes / sizeof(float);
        if ((st = accumulate(&one, x->data, y->data, n, y->name)))
            break;
        if (per) {
            memset(&per[k], 0, sizeof per[k]);
            memcpy(per[k].name, y->name, sizeof per[k].name);
            finish(&one, &per[k].d);
        }
        k++;
        const int slot = grouped ? pol_state_group_of(y->name)
                                 : (!include || include(y->name)) ? 0 : -1;
        if (slot >= 0) {
            add_acc(&total[slot], &one);
            if (present)
                *present |= 1u << slot;
        }
    }
    free(order);
    if (!st && n_per)
        *n_per = k;
    return st;
}

pol_status pol_state_distance(const pol_tensor *const *a, size_t na, const pol_tensor *const *b,
                              size_t nb, int (*include)(const char *name), pol_distance *agg,
                              pol_tensor_distance *per, size_t *n_per)
{
    if (!agg || (na && !a) || (nb && !b))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_distance: NULL argument");
    memset(agg, 0, sizeof *agg);
    if (n_per)
        *n_per = 0;
    acc total = { 0 };
    pol_status st = compare(a, na, b, nb, 0, include, &total, NULL, per, n_per);
    if (st)
        return st;
    finish(&total, agg);
    return POL_OK;
}

pol_status pol_state_distance_groups(const pol_tensor *const *a, size_t na,
                                     const pol_tensor *const *b, size_t nb,
                                     pol_distance agg[POL_GROUP_COUNT], unsigned *present)
{
    if (!agg || !present || (na && !a) || (nb && !b))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_state_distance_groups: NULL argument");
    memset(agg, 0, POL_GROUP_COUNT * sizeof *agg);
    *present = 0;
    acc total[POL_GROUP_COUNT] = { { 0 } };
    pol_status st = compare(a, na, b, nb, 1, NULL, total, present, NULL, NULL);
    if (st) {
        *present = 0;
        return st;
    }
    for (int g = 0; g < POL_GROUP_COUNT; g++)
        finish(&total[g], &agg[g]);
    return POL_OK;
}
