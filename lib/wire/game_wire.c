/* pol_genesis <-> pol.v1.Genesis, pol_game_action <-> pol.v1.GameAction
 * (spec/game.md, sections 2 and 3). */
#include <stdlib.h>
#include <string.h>

#include "game.pb-c.h"
#include "pol/game.h"
#include "pol/pinpoint.h"
#include "pol/task.h"
#include "pol/wire.h"
#include "wire_internal.h"

/* Decode budget factors [W-CAP-2]: bytes fields are copied once, and every
 * genesis account costs a small struct and a pointer beside its ~47 bytes. */
#define GENESIS_BUDGET 8u
#define ACTION_BUDGET 2u

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

/* ---------------------------------------------------------------- genesis */

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, POL_PUBKEY_LEN);
}

/* [G-GEN-1 .. G-GEN-4], shared by the encoder (INVALID_ARG) and the decoder
 * (FORMAT). */
static pol_status genesis_valid(const pol_genesis *g, pol_status bad)
{
    if (pol_pubkey_check(g->referee_key) != POL_OK)
        return pol_errorf(bad, "genesis: referee key is not a valid x-only key");
    if (g->n_accounts < 1 || g->n_accounts > POL_GAME_MAX_GENESIS_ACCOUNTS)
        return pol_errorf(bad, "genesis: %zu accounts, want 1 .. %u", g->n_accounts,
                          POL_GAME_MAX_GENESIS_ACCOUNTS);
    if (!g->accounts)
        return pol_errorf(bad, "genesis: NULL accounts");
    if (g->forced_error_ppm > POL_GAME_PPM || g->jackpot_tax_ppm > POL_GAME_PPM)
        return pol_errorf(bad, "genesis: forced_error_ppm %u or jackpot_tax_ppm %u above %u",
                          g->forced_error_ppm, g->jackpot_tax_ppm, POL_GAME_PPM);
    const uint64_t w[5] = {g->solve_window_ms, g->verify_window_ms, g->challenge_window_ms,
                           g->reveal_window_ms, g->dispute_window_ms};
    static const char *const wn[5] = {"solve", "verify", "challenge", "reveal", "dispute"};
    for (int i = 0; i < 5; i++)
        if (w[i] < 1 || w[i] > POL_GAME_MAX_WINDOW_MS)
            return pol_errorf(bad, "genesis: %s window %llu ms not in [1, 2^40]", wn[i],
                              (unsigned long long)w[i]);
    if (g->genesis_time_ms > POL_GAME_MAX_TIME_MS)
        return pol_errorf(bad, "genesis: genesis time %llu past 2^62 ms",
                          (unsigned long long)g->genesis_time_ms);
    uint64_t total = g->jackpot;
    for (size_t i = 0; i < g->n_accounts; i++) {
        if (pol_pubkey_check(g->accounts[i].key) != POL_OK)
            return pol_errorf(bad, "genesis: account %zu: not a valid x-only key", i);
        if (total + g->accounts[i].balance < total)
            return pol_errorf(bad, "genesis: total supply overflows 2^64 at account %zu", i);
        total += g->accounts[i].balance;
    }
    /* Distinct keys: sort a copy of them. */
    uint8_t(*keys)[POL_PUBKEY_LEN] = malloc(g->n_accounts * POL_PUBKEY_LEN);
    if (!keys)
        return pol_errorf(POL_ERR_NOMEM, "genesis: %zu keys", g->n_accounts);
    for (size_t i = 0; i < g->n_accounts; i++)
        memcpy(keys[i], g->accounts[i].key, POL_PUBKEY_LEN);
    qsort(keys, g->n_accounts, POL_PUBKEY_LEN, key_cmp);
    pol_status st = POL_OK;
    for (size_t i = 1; i < g->n_accounts && st == POL_OK; i++)
        if (memcmp(keys[i - 1], keys[i], POL_PUBKEY_LEN) == 0)
            st = pol_errorf(bad, "genesis: an account key appears twice");
    free(keys);
    return st;
}

pol_status pol_genesis_encode(const pol_genesis *gen, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = genesis_valid(gen, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    const size_t n = gen->n_accounts;
    Pol__V1__GenesisAccount *acc = malloc(n * sizeof *acc);
    Pol__V1__GenesisAccount **accp = malloc(n * sizeof *accp);
    if (!acc || !accp) {
        free(acc);
        free(accp);
        return pol_errorf(POL_ERR_NOMEM, "encode genesis: %zu accounts", n);
    }
    for (size_t i = 0; i < n; i++) {
        Pol__V1__GenesisAccount x = POL__V1__GENESIS_ACCOUNT__INIT;
        x.key = bin(gen->accounts[i].key, POL_PUBKEY_LEN);
        x.balance = gen->accounts[i].balance;
        acc[i] = x;
        accp[i] = &acc[i];
    }
    Pol__V1__Genesis m = POL__V1__GENESIS__INIT;
    m.referee_key = bin(gen->referee_key, POL_PUBKEY_LEN);
    m.n_accounts = n;
    m.accounts = accp;
    m.jackpot = gen->jackpot;
    m.jackpot_payout = gen->jackpot_payout;
    m.forced_error_ppm = gen->forced_error_ppm;
    m.jackpot_tax_ppm = gen->jackpot_tax_ppm;
    m.solve_window_ms = gen->solve_window_ms;
    m.verify_window_ms = gen->verify_window_ms;
    m.challenge_window_ms = gen->challenge_window_ms;
    m.reveal_window_ms = gen->reveal_window_ms;
    m.dispute_window_ms = gen->dispute_window_ms;
    m.genesis_time_ms = gen->genesis_time_ms;
    st = pol__wire_pack(&m.base, buf, len);
    free(acc);
    free(accp);
    return st;
}

static pol_status genesis_from_msg(const Pol__V1__Genesis *m, pol_genesis *g)
{
    pol_status st;
    if (m->n_accounts < 1 || m->n_accounts > POL_GAME_MAX_GENESIS_ACCOUNTS)
        return pol_errorf(POL_ERR_FORMAT, "genesis: %zu accounts, want 1 .. %u", m->n_accounts,
                          POL_GAME_MAX_GENESIS_ACCOUNTS);
    if ((st = pol__wire_get32(&m->referee_key, "genesis referee_key", g->referee_key)))
        return st;
    g->accounts = calloc(m->n_accounts, sizeof *g->accounts);
    if (!g->accounts)
        return pol_errorf(POL_ERR_NOMEM, "genesis: %zu accounts", m->n_accounts);
    g->n_accounts = m->n_accounts;
    for (size_t i = 0; i < m->n_accounts; i++) {
        if ((st = pol__wire_get32(&m->accounts[i]->key, "genesis account key",
                                  g->accounts[i].key)))
            return st;
        g->accounts[i].balance = m->accounts[i]->balance;
    }
    g->jackpot = m->jackpot;
    g->jackpot_payout = m->jackpot_payout;
    g->forced_error_ppm = m->forced_error_ppm;
    g->jackpot_tax_ppm = m->jackpot_tax_ppm;
    g->solve_window_ms = m->solve_window_ms;
    g->verify_window_ms = m->verify_window_ms;
    g->challenge_window_ms = m->challenge_window_ms;
    g->reveal_window_ms = m->reveal_window_ms;
    g->dispute_window_ms = m->dispute_window_ms;
    g->genesis_time_ms = m->genesis_time_ms;
    return genesis_valid(g, POL_ERR_FORMAT);
}

pol_status pol_genesis_decode(const uint8_t *buf, size_t len, pol_genesis *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    pol_status st = pol__wire_unpack(&pol__v1__genesis__descriptor, buf, len,
                                     POL_GAME_MAX_GENESIS, GENESIS_BUDGET, "genesis", &m);
    if (st != POL_OK)
        return st;
    st = genesis_from_msg((const Pol__V1__Genesis *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_genesis_free(out);
    return st;
}

void pol_genesis_free(pol_genesis *gen)
{
    if (!gen)
        return;
    free(gen->accounts);
    memset(gen, 0, sizeof *gen);
}

/* ---------------------------------------------------------------- actions */

/* [G-ACT-4]: NUL-terminated within its array, printable ASCII. */
static int endpoint_ok(const char *e)
{
    return memchr(e, 0, POL_GAME_ENDPOINT_MAX) && pol__wire_text_ok(e, POL_GAME_ENDPOINT_MAX - 1);
}

/* Copies a decoded endpoint string, refusing one that does not fit. */
static pol_status get_endpoint(const char *s, const char *what, char out[POL_GAME_ENDPOINT_MAX])
{
    if (!s)
        s = "";
    if (strlen(s) >= POL_GAME_ENDPOINT_MAX || !pol__wire_text_ok(s, POL_GAME_ENDPOINT_MAX - 1))
        return pol_errorf(POL_ERR_FORMAT, "%s: endpoint is not at most %d bytes of printable ASCII",
                          what, POL_GAME_ENDPOINT_MAX - 1);
    memcpy(out, s, strlen(s) + 1);
    return POL_OK;
}

/* [G-ACT-2]: the value rules of one action, shared by the encoder
 * (INVALID_ARG) and the decoder (FORMAT). Lengths of fixed-size fields are
 * the decoder's business (the C struct cannot get them wrong). */
static pol_status action_valid(const pol_game_action *a, pol_status bad)
{
    if (a->nonce < 1)
        return pol_errorf(bad, "game action: nonce 0 (the first nonce is 1)");
    switch (a->kind) {
    case POL_GAME_POST_TASK:
        if (a->task_json_len < 1 || a->task_json_len > POL_TASK_MAX_BYTES || !a->task_json)
            return pol_errorf(bad, "post_task: task json of %zu bytes, want 1 .. %u",
                              a->task_json_len, POL_TASK_MAX_BYTES);
        if (a->profile_len > POL_WIRE_MAX_ENVELOPE || (a->profile_len && !a->profile))
            return pol_errorf(bad, "post_task: profile envelope of %zu bytes, want 0 .. %u",
                              a->profile_len, POL_WIRE_MAX_ENVELOPE);
        return POL_OK;
    case POL_GAME_SUBMIT_CERT:
    case POL_GAME_SUBMIT_REPORT:
        if (a->inner_len < 1 || a->inner_len > POL_WIRE_MAX_ENVELOPE || !a->inner)
            return pol_errorf(bad, "%s: inner envelope of %zu bytes, want 1 .. %u",
                              pol_game_kind_name(a->kind), a->inner_len, POL_WIRE_MAX_ENVELOPE);
        if (a->kind == POL_GAME_SUBMIT_REPORT &&
            !endpoint_ok(a->endpoint))
            return pol_errorf(bad, "submit_report: endpoint is not at most %d bytes of printable "
                              "ASCII", POL_GAME_ENDPOINT_MAX - 1);
        return POL_OK;
    case POL_GAME_CLAIM:
    case POL_GAME_CHALLENGE:
        if (!endpoint_ok(a->endpoint))
            return pol_errorf(bad, "%s: endpoint is not at most %d bytes of printable ASCII",
                              pol_game_kind_name(a->kind), POL_GAME_ENDPOINT_MAX - 1);
        return POL_OK;
    case POL_GAME_REVEAL:
    case POL_GAME_BEACON:
        return POL_OK;
    case POL_GAME_RULING:
        if (a->loser > POL_GAME_LOSER_CHALLENGER)
            return pol_errorf(bad, "ruling: loser %u is not 0 (solver) or 1 (challenger)",
                              a->loser);
        if (a->reason < 1 || a->reason > POL_DISPUTE_BAD_CLAIM)
            return pol_errorf(bad, "ruling: reason %u not in 1 .. %d", a->reason,
                              POL_DISPUTE_BAD_CLAIM);
        if (a->pin_kind > 3)
            return pol_errorf(bad, "ruling: pin kind %u not in 0 .. 3", a->pin_kind);
        if (a->interval < -1 || a->step < -1 || a->node < -1)
            return pol_errorf(bad, "ruling: interval, step and node must be >= -1");
        return POL_OK;
    default:
        return pol_errorf(bad, "game action: unknown kind %u", a->kind);
    }
}

pol_status pol_game_action_encode(const pol_game_action *a, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    pol_status st = action_valid(a, POL_ERR_INVALID_ARG);
    if (st != POL_OK)
        return st;
    Pol__V1__GameAction m;
    Pol__V1__PostTask pt;
    Pol__V1__Claim cl;
    Pol__V1__SubmitCert sc;
    Pol__V1__SubmitReport sr;
    Pol__V1__Challenge ch;
    Pol__V1__Reveal rv;
    Pol__V1__Ruling ru;
    Pol__V1__Beacon be;
    pol__v1__game_action__init(&m);
    m.game_id = bin(a->game_id.b, 32);
    m.nonce = a->nonce;
    const ProtobufCBinaryData tid = bin(a->task_id.b, 32);
    switch (a->kind) {
    case POL_GAME_POST_TASK:
        pol__v1__post_task__init(&pt);
        pt.task_json = bin(a->task_json, a->task_json_len);
        pt.bounty = a->bounty;
        pt.verifier_fee = a->verifier_fee;
        pt.solver_bond = a->solver_bond;
        pt.verifier_bond = a->verifier_bond;
        pt.challenge_bond = a->challenge_bond;
        pt.profile = bin(a->profile, a->profile_len);
        m.action_case = POL__V1__GAME_ACTION__ACTION_POST_TASK;
        m.post_task = &pt;
        break;
    case POL_GAME_CLAIM:
        pol__v1__claim__init(&cl);
        cl.task_id = tid;
        cl.commit = bin(a->commit.b, 32);
        cl.endpoint = (char *)a->endpoint;
        m.action_case = POL__V1__GAME_ACTION__ACTION_CLAIM;
        m.claim = &cl;
        break;
    case POL_GAME_SUBMIT_CERT:
        pol__v1__submit_cert__init(&sc);
        sc.task_id = tid;
        sc.certificate = bin(a->inner, a->inner_len);
        m.action_case = POL__V1__GAME_ACTION__ACTION_SUBMIT_CERT;
        m.submit_cert = &sc;
        break;
    case POL_GAME_SUBMIT_REPORT:
        pol__v1__submit_report__init(&sr);
        sr.task_id = tid;
        sr.report = bin(a->inner, a->inner_len);
        sr.endpoint = (char *)a->endpoint;
        m.action_case = POL__V1__GAME_ACTION__ACTION_SUBMIT_REPORT;
        m.submit_report = &sr;
        break;
    case POL_GAME_CHALLENGE:
        pol__v1__challenge__init(&ch);
        ch.task_id = tid;
        ch.report_id = bin(a->report_id.b, 32);
        ch.endpoint = (char *)a->endpoint;
        m.action_case = POL__V1__GAME_ACTION__ACTION_CHALLENGE;
        m.challenge = &ch;
        break;
    case POL_GAME_REVEAL:
        pol__v1__reveal__init(&rv);
        rv.task_id = tid;
        rv.secret = bin(a->secret, 32);
        m.action_case = POL__V1__GAME_ACTION__ACTION_REVEAL;
        m.reveal = &rv;
        break;
    case POL_GAME_BEACON:
        pol__v1__beacon__init(&be);
        be.task_id = tid;
        be.value = bin(a->beacon, 32);
        m.action_case = POL__V1__GAME_ACTION__ACTION_BEACON;
        m.beacon = &be;
        break;
    default: /* POL_GAME_RULING: action_valid refused every other kind */
        pol__v1__ruling__init(&ru);
        ru.task_id = tid;
        ru.loser = a->loser;
        ru.reason = a->reason;
        ru.pin_kind = a->pin_kind;
        ru.interval = a->interval;
        ru.step = a->step;
        ru.node = a->node;
        ru.transcript = bin(a->transcript.b, 32);
        m.action_case = POL__V1__GAME_ACTION__ACTION_RULING;
        m.ruling = &ru;
        break;
    }
    return pol__wire_pack(&m.base, buf, len);
}

static pol_status copy_bytes(const ProtobufCBinaryData *b, const uint8_t **out, size_t *out_len)
{
    uint8_t *p = malloc(b->len ? b->len : 1);
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "game action: %zu bytes", b->len);
    if (b->len)
        memcpy(p, b->data, b->len);
    *out = p;
    *out_len = b->len;
    return POL_OK;
}

static pol_status action_from_msg(const Pol__V1__GameAction *m, pol_game_action *a)
{
    pol_status st;
    if ((st = pol__wire_get32(&m->game_id, "game action game_id", a->game_id.b)))
        return st;
    a->nonce = m->nonce;
    a->owned = 1;
    switch (m->action_case) {
    case POL__V1__GAME_ACTION__ACTION_POST_TASK: {
        const Pol__V1__PostTask *x = m->post_task;
        a->kind = POL_GAME_POST_TASK;
        if (x->task_json.len < 1 || x->task_json.len > POL_TASK_MAX_BYTES)
            return pol_errorf(POL_ERR_FORMAT, "post_task: task json of %zu bytes, want 1 .. %u",
                              x->task_json.len, POL_TASK_MAX_BYTES);
        if ((st = copy_bytes(&x->task_json, &a->task_json, &a->task_json_len)))
            return st;
        if (x->profile.len > POL_WIRE_MAX_ENVELOPE)
            return pol_errorf(POL_ERR_FORMAT, "post_task: profile envelope of %zu bytes, want "
                              "0 .. %u", x->profile.len, POL_WIRE_MAX_ENVELOPE);
        if (x->profile.len && (st = copy_bytes(&x->profile, &a->profile, &a->profile_len)))
            return st;
        a->bounty = x->bounty;
        a->verifier_fee = x->verifier_fee;
        a->solver_bond = x->solver_bond;
        a->verifier_bond = x->verifier_bond;
        a->challenge_bond = x->challenge_bond;
        break;
    }
    case POL__V1__GAME_ACTION__ACTION_CLAIM:
        a->kind = POL_GAME_CLAIM;
        if ((st = pol__wire_get32(&m->claim->task_id, "claim task_id", a->task_id.b)) ||
            (st = pol__wire_get32(&m->claim->commit, "claim commit", a->commit.b)))
            return st;
        if ((st = get_endpoint(m->claim->endpoint, "claim", a->endpoint)))
            return st;
        break;
    case POL__V1__GAME_ACTION__ACTION_SUBMIT_CERT:
    case POL__V1__GAME_ACTION__ACTION_SUBMIT_REPORT: {
        const int cert = m->action_case == POL__V1__GAME_ACTION__ACTION_SUBMIT_CERT;
        const ProtobufCBinaryData *tid = cert ? &m->submit_cert->task_id
                                              : &m->submit_report->task_id;
        const ProtobufCBinaryData *in = cert ? &m->submit_cert->certificate
                                             : &m->submit_report->report;
        a->kind = cert ? POL_GAME_SUBMIT_CERT : POL_GAME_SUBMIT_REPORT;
        if ((st = pol__wire_get32(tid, cert ? "submit_cert task_id" : "submit_report task_id",
                                  a->task_id.b)))
            return st;
        if (in->len < 1 || in->len > POL_WIRE_MAX_ENVELOPE)
            return pol_errorf(POL_ERR_FORMAT, "%s: inner envelope of %zu bytes, want 1 .. %u",
                              pol_game_kind_name(a->kind), in->len, POL_WIRE_MAX_ENVELOPE);
        if ((st = copy_bytes(in, &a->inner, &a->inner_len)))
            return st;
        if (!cert && (st = get_endpoint(m->submit_report->endpoint, "submit_report", a->endpoint)))
            return st;
        break;
    }
    case POL__V1__GAME_ACTION__ACTION_CHALLENGE:
        a->kind = POL_GAME_CHALLENGE;
        if ((st = pol__wire_get32(&m->challenge->task_id, "challenge task_id", a->task_id.b)) ||
            (st = pol__wire_get32(&m->challenge->report_id, "challenge report_id",
                                  a->report_id.b)))
            return st;
        if ((st = get_endpoint(m->challenge->endpoint, "challenge", a->endpoint)))
            return st;
        break;
    case POL__V1__GAME_ACTION__ACTION_REVEAL:
        a->kind = POL_GAME_REVEAL;
        if ((st = pol__wire_get32(&m->reveal->task_id, "reveal task_id", a->task_id.b)) ||
            (st = pol__wire_get32(&m->reveal->secret, "reveal secret", a->secret)))
            return st;
        break;
    case POL__V1__GAME_ACTION__ACTION_RULING: {
        const Pol__V1__Ruling *x = m->ruling;
        a->kind = POL_GAME_RULING;
        if ((st = pol__wire_get32(&x->task_id, "ruling task_id", a->task_id.b)) ||
            (st = pol__wire_get32(&x->transcript, "ruling transcript", a->transcript.b)))
            return st;
        a->loser = x->loser;
        a->reason = x->reason;
        a->pin_kind = x->pin_kind;
        a->interval = x->interval;
        a->step = x->step;
        a->node = x->node;
        break;
    }
    case POL__V1__GAME_ACTION__ACTION_BEACON:
        a->kind = POL_GAME_BEACON;
        if ((st = pol__wire_get32(&m->beacon->task_id, "beacon task_id", a->task_id.b)) ||
            (st = pol__wire_get32(&m->beacon->value, "beacon value", a->beacon)))
            return st;
        break;
    default:
        return pol_errorf(POL_ERR_FORMAT, "game action: no action set");
    }
    return action_valid(a, POL_ERR_FORMAT);
}

pol_status pol_game_action_decode(const uint8_t *buf, size_t len, pol_game_action *out)
{
    ProtobufCMessage *m;
    memset(out, 0, sizeof *out);
    pol_status st = pol__wire_unpack(&pol__v1__game_action__descriptor, buf, len,
                                     POL_GAME_MAX_ACTION, ACTION_BUDGET, "game action", &m);
    if (st != POL_OK)
        return st;
    st = action_from_msg((const Pol__V1__GameAction *)m, out);
    pol__wire_free(m);
    if (st != POL_OK)
        pol_game_action_free(out);
    return st;
}

void pol_game_action_free(pol_game_action *a)
{
    if (!a)
        return;
    if (a->owned) {
        free((void *)(uintptr_t)a->task_json);
        free((void *)(uintptr_t)a->profile);
        free((void *)(uintptr_t)a->inner);
    }
    memset(a, 0, sizeof *a);
}

pol_status pol_game_action_seal(const pol_game_action *a, const pol_keypair *kp, uint8_t **env,
                                size_t *env_len)
{
    uint8_t *body;
    size_t body_len;
    *env = NULL;
    *env_len = 0;
    pol_status st = pol_game_action_encode(a, &body, &body_len);
    if (st != POL_OK)
        return st;
    st = pol_envelope_seal(POL_MSG_GAME_ACTION, body, body_len, kp, env, env_len);
    free(body);
    return st;
}

const char *pol_game_kind_name(uint32_t kind)
{
    switch (kind) {
    case POL_GAME_POST_TASK: return "post_task";
    case POL_GAME_CLAIM: return "claim";
    case POL_GAME_SUBMIT_CERT: return "submit_cert";
    case POL_GAME_SUBMIT_REPORT: return "submit_report";
    case POL_GAME_CHALLENGE: return "challenge";
    case POL_GAME_REVEAL: return "reveal";
    case POL_GAME_RULING: return "ruling";
    case POL_GAME_BEACON: return "beacon";
    default: return "?";
    }
}
