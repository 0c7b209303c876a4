/*
 * Online reconfiguration of one token, for SPIN (docs/reconfiguration.md is the design;
 * docs/model.md, "Reconfiguration", says how to run it, what each step is in the C++ code,
 * and what is left out).
 *
 * The old configuration C0 = (epoch 0, writer node 0, replicas S = {0,1,2}); the new one
 * C1 = (epoch 1, writer W1, replicas S'), chosen by one switch:
 *   GROW      S' = {0,1,2,3,4}, W1 = 0
 *   REPLACE   S' = {0,1,3}, W1 = 0 (node 2 leaves; with CRASHES it may be dead)
 *   MOVE      S' = {0,1,2}, W1 = 1 (the default)
 * One admin process (the tool) runs Seal (to S, a majority of S answers, M = the highest
 * register), Install(M) (to S', a majority of S'), Activate (to S and S', a majority of S').
 * Concurrently a client writes at the writer of the configuration it finds current, readers
 * read at the epoch of their node's effective configuration, any message may be delayed,
 * reordered or lost, an operation may time out and leave its Stores in flight.
 *
 * As in register.pml, one process runs a loop of guarded atomic steps (d_step), one per event.
 * Unlike it, a GetRegister is delivered and answered in one step, and so is each of the tool's
 * calls (a Store already was); reads do not time out; a round forgets who answered, keeping
 * its counts. docs/model.md says why none of this loses an error.
 *
 * Compile-time switches:
 *   GROW REPLACE MOVE          the target configuration (above)
 *   WRITES READS CRASHES       the bounds (defaults below); a crash is permanent (the node
 *                              stays down: the case of a dead node; a restart is a delay)
 *   OLDWRITES                  at most that many of the writes run at epoch 0 (default all)
 *   LIVE                       no timeouts, at most one crash, of node 2 (a majority of S
 *                              and of S' stay up): every state has a next event until the
 *                              operations have ended and the reconfiguration is done, and
 *                              it ends done (else an invalid end state or an assertion)
 *   BUG_SKIP_TRANSFER          Activate right after Seal, without Install
 *   BUG_NO_EPOCH_IN_STAMP      stamps ordered by (ts, origin) only
 *   BUG_SEAL_MINORITY          Seal proceeds after one answer
 *   BUG_SEALED_SERVES          a sealed replica keeps applying and acknowledging Stores
 */

#if !defined(GROW) && !defined(REPLACE) && !defined(MOVE)
#define MOVE
#endif

#ifndef WRITES
#define WRITES 2
#endif
#ifndef READS
#define READS 1        /* reads in a run (at most two at a time) */
#endif
#ifndef CRASHES
#define CRASHES 0
#endif
#ifndef OLDWRITES
#define OLDWRITES WRITES   /* of the writes, how many may run at epoch 0 (the others: at 1) */
#endif

#define W0 0           /* the writer of C0 */
#define NS 3           /* |S|; S = {0,1,2} */
#define INS(n) ((n) < 3)
#if defined(GROW)
#define NN 5           /* nodes in S and S' */
#define NS2 5
#define INS2(n) (1)
#define W1 0
#elif defined(REPLACE)
#define NN 4
#define NS2 3
#define INS2(n) ((n) != 2)
#define W1 0
#else
#define NN 3
#define NS2 3
#define INS2(n) (1)
#define W1 1
#endif
#define MAJS (NS / 2 + 1)
#define MAJS2 (NS2 / 2 + 1)
#define INSET(e, n) ((e) == 0 && INS(n) || (e) == 1 && INS2(n))
#define MAJE(e) ((e) == 0 -> MAJS : MAJS2)
#define NSET(e) ((e) == 0 -> NS : NS2)
#define ORIG(w) ((w) == 0 -> 2 : 1)   /* writer origins: the old writer's is the higher */

#define ATTEMPTS 2     /* issue attempts (ReplicaOptions::max_issue_attempts is 3) */
#define ORPH 2         /* Stores still in flight after their round ended */
#define NSLOT 3        /* slot 0: the write; slots 1 and 2: reads */

/* config records (durable, per node) */
#define R_NONE 0       /* no record: the YAML's configuration (C0 for S, nothing for others) */
#define R_SEALED 1     /* SEALED(0 -> C1) */
#define R_ACTIVE 2     /* ACTIVE(C1) */
#define R_RETIRED 3    /* RETIRED(C1) */

/* message states (as register.pml) */
#define M_NONE 0
#define M_REQ 1
#define M_ACK 2
#define M_NAK 3

#define P_IDLE 0
#define P_GET 1
#define P_WB 2
#define P_ISSUE 3

/* the tool's phases */
#define A_IDLE 0
#define A_SEAL 1
#define A_INSTALL 2
#define A_ACTIVATE 3
#define A_DONE 4
#define A_FAILED 5

/* stamps (epoch, ts, origin). GT is the order the replicas and coordinators use (the design's,
   or the bug's); TGT is the design's, in which the properties are stated. */
#define TGT(e1, t1, o1, e2, t2, o2) \
  ((e1) > (e2) || ((e1) == (e2) && ((t1) > (t2) || ((t1) == (t2) && (o1) > (o2)))))
#ifdef BUG_NO_EPOCH_IN_STAMP
#define GT(e1, t1, o1, e2, t2, o2) ((t1) > (t2) || ((t1) == (t2) && (o1) > (o2)))
#else
#define GT(e1, t1, o1, e2, t2, o2) TGT(e1, t1, o1, e2, t2, o2)
#endif
#define TGE(e1, t1, o1, e2, t2, o2) (!TGT(e2, t2, o2, e1, t1, o1))

/* effective epoch, and whether a call at epoch e about the token is served */
#define EFF(n) ((rec[n] == R_ACTIVE || rec[n] == R_RETIRED) -> 1 : 0)
#define SERVES(n, e) (up[n] && ((e) == 0 -> (rec[n] == R_NONE && INS(n)) : (rec[n] == R_ACTIVE)))
#ifdef BUG_SEALED_SERVES
#define STORES(n, e) (SERVES(n, e) || (up[n] && (e) == 0 && rec[n] == R_SEALED))
#else
#define STORES(n, e) SERVES(n, e)
#endif

/* ---- durable state of each node ---- */
byte rep[NN], rts[NN], ror[NN], rval[NN];   /* the register: stamp and value */
byte rec[NN];                               /* the config record */
bit up[NN];                                 /* up (a crash is permanent) */
byte last[2];                               /* the allocators of nodes 0 and 1 */
byte wep[2];                                /* the epoch whose recovery read the writer on
                                               node 0 / 1 did (2: none) */

typedef Op {
  byte ph;
  byte coord;
  byte ep;                      /* the epoch the operation runs at (carried by each call) */
  byte val;
  bit recov;
  bit agree;
  byte m[NN];
  byte pep[NN]; byte pts[NN]; byte por[NN]; byte pval[NN];
  byte ok; byte err;
  byte bep; byte bts; byte bor; byte bval;
  byte fep; byte fts; byte fo;  /* floor: what had completed when the operation began */
  byte att;
  byte sep; byte sts; byte so;  /* newest stamp of another incarnation a Store met */
};
Op op[NSLOT];

/* Stores whose round ended, still in flight: node, call epoch, stamp, value */
byte on[ORPH], oce[ORPH], oep[ORPH], ots[ORPH], oor[ORPH], oval[ORPH];
bit oon[ORPH];

/* ---- the tool ---- */
byte aph;                       /* its phase */
byte sm[NN], im[NN], am[NN];    /* Seal, Install, Activate in flight (M_REQ) */
byte aok, aerr;
byte Mep, Mts, Mor, Mval;       /* the highest register of the Seal answers */

/* ---- bookkeeping and properties ---- */
byte writes_started, reads_started, crashes, writes_ok, reads_ok;
byte cw_ep, cw_ts, cw_or, cw_val;   /* the last acknowledged write */
byte cr_ep, cr_ts, cr_or;           /* the highest stamp a completed read returned */
byte iss[4];                        /* per (epoch, writer node): the highest ts issued */
bit anyactive;                      /* some node recorded ACTIVE(C1) */

hidden byte xj, xk, xt;

/* does node n lack the last acknowledged write (design order)? */
#define LACKS(n) \
  (!(TGT(rep[n], rts[n], ror[n], cw_ep, cw_ts, cw_or) || \
     (rep[n] == cw_ep && rts[n] == cw_ts && ror[n] == cw_or && rval[n] == cw_val)))

/* P2, no acknowledged write lost: fewer than a majority of S lack the last acknowledged write
   while it is of epoch 0; fewer than a majority of S' lack it once a node of S' is active or
   it is of epoch 1. So every majority a read at either epoch can meet has it. */
inline check_lost() {
  if
  :: cw_val != 0 ->
     xk = 0;
     if
     :: cw_ep == 0 ->
        for (xj : 0 .. NN - 1) {
          if
          :: INS(xj) && LACKS(xj) -> xk++
          :: else
          fi
        }
        assert(xk < MAJS)   /* P2: an acknowledged write is lost in S */
     :: else
     fi;
     xk = 0;
     if
     :: cw_ep == 1 || anyactive ->
        for (xj : 0 .. NN - 1) {
          if
          :: INS2(xj) && LACKS(xj) -> xk++
          :: else
          fi
        }
        assert(xk < MAJS2)  /* P2: an acknowledged write is lost in S' */
     :: else
     fi;
     xj = 0; xk = 0
  :: else
  fi
}

/* RegisterStore::StoreIfNewer */
inline store_at(n, e, ts, o, v) {
  if
  :: GT(e, ts, o, rep[n], rts[n], ror[n]) -> rep[n] = e; rts[n] = ts; ror[n] = o; rval[n] = v
  :: else ->
     assert(!(e == rep[n] && ts == rts[n] && o == ror[n]) || v == rval[n])  /* P3 */
  fi
}

inline why_refused(n, e) {   /* e: a variable, not an expression */
  if
  :: !up[n] -> printf("  (n%d is down)\n", n)
  :: up[n] && rec[n] == R_SEALED -> printf("  (n%d is sealed: UNAVAILABLE)\n", n)
  :: up[n] && rec[n] != R_SEALED && EFF(n) > e ->
     printf("  (n%d is at epoch %d: FAILED_PRECONDITION)\n", n, EFF(n))
  :: up[n] && rec[n] != R_SEALED && EFF(n) < e ->
     printf("  (n%d is at epoch %d: UNAVAILABLE)\n", n, EFF(n))
  :: else -> printf("  (n%d refuses)\n", n)
  fi
}

inline orphan(n, ce, e, ts, o, v) {
  if
  :: !oon[0] -> oon[0] = 1; on[0] = n; oce[0] = ce; oep[0] = e; ots[0] = ts; oor[0] = o; oval[0] = v
  :: else ->
     if
     :: !oon[1] -> oon[1] = 1; on[1] = n; oce[1] = ce; oep[1] = e; ots[1] = ts; oor[1] = o; oval[1] = v
     :: else /* pool full: this Store is lost */
     fi
  fi
}

inline end_round(s) {
  for (xj : 0 .. NN - 1) {
    if
    :: op[s].m[xj] == M_REQ && op[s].ph != P_GET ->
       orphan(xj, op[s].ep, op[s].bep, op[s].bts, op[s].bor, op[s].bval)
    :: else
    fi;
    op[s].m[xj] = M_NONE; op[s].pep[xj] = 0; op[s].pts[xj] = 0; op[s].por[xj] = 0; op[s].pval[xj] = 0
  }
  xj = 0;
  op[s].ok = 0; op[s].err = 0; op[s].sep = 0; op[s].sts = 0; op[s].so = 0; op[s].agree = 0
}

inline clear_op(s) {
  end_round(s);
  op[s].ph = P_IDLE; op[s].coord = 0; op[s].ep = 0; op[s].val = 0; op[s].recov = 0;
  op[s].bep = 0; op[s].bts = 0; op[s].bor = 0; op[s].bval = 0;
  op[s].fep = 0; op[s].fts = 0; op[s].fo = 0; op[s].att = 0
}

/* an operation ends without a result (its client may try again: a later operation) */
inline fail_op(s) {
  clear_op(s)
}

inline set_floor(s) {
  if
  :: TGT(cw_ep, cw_ts, cw_or, cr_ep, cr_ts, cr_or) -> op[s].fep = cw_ep; op[s].fts = cw_ts; op[s].fo = cw_or
  :: else -> op[s].fep = cr_ep; op[s].fts = cr_ts; op[s].fo = cr_or
  fi
}

/* GetRound at the operation's epoch: own answer first, then the others of its set */
inline start_get(s, c) {
  printf("op%d: GetRegister round at n%d, epoch %d (own %d/%d/o%d val %d)\n", s, c, op[s].ep,
         rep[c], rts[c], ror[c], rval[c]);
  op[s].ph = P_GET; op[s].coord = c;
  op[s].bep = rep[c]; op[s].bts = rts[c]; op[s].bor = ror[c]; op[s].bval = rval[c];
  op[s].ok = 1; op[s].agree = 1;
  for (xj : 0 .. NN - 1) {
    if
    :: !INSET(op[s].ep, xj) -> op[s].m[xj] = M_NONE
    :: INSET(op[s].ep, xj) && xj == c -> op[s].m[xj] = M_NONE   /* its answer is counted */
    :: INSET(op[s].ep, xj) && xj != c && !up[xj] -> op[s].m[xj] = M_NAK
    :: else -> op[s].m[xj] = M_REQ
    fi
  }
  xj = 0
}

inline start_store(s, phase) {
  printf("op%d: Store round of %d/%d/o%d val %d from n%d, epoch %d\n", s, op[s].bep, op[s].bts,
         op[s].bor, op[s].bval, op[s].coord, op[s].ep);
  op[s].ph = phase;
  for (xj : 0 .. NN - 1) {
    if
    :: !INSET(op[s].ep, xj) -> op[s].m[xj] = M_NONE
    :: INSET(op[s].ep, xj) && !up[xj] -> op[s].m[xj] = M_NAK
    :: else -> op[s].m[xj] = M_REQ
    fi
  }
  xj = 0
}

/* TimestampAllocator::Next at the writer's node, the stamp (epoch, ts, origin) */
inline issue(s) {
  xt = last[op[s].coord] + 1;
  last[op[s].coord] = xt;
  printf("op%d: writer n%d issues val %d at %d/%d/o%d\n", s, op[s].coord, op[s].val, op[s].ep, xt,
         ORIG(op[s].coord));
  assert(xt > iss[op[s].ep * 2 + op[s].coord]);   /* P3: a stamp issued twice */
  iss[op[s].ep * 2 + op[s].coord] = xt;
  if
  :: op[s].ep == 1 -> assert(xt > Mts)            /* P4: the new writer's ts above M */
  :: else
  fi;
  op[s].bep = op[s].ep; op[s].bts = xt; op[s].bor = ORIG(op[s].coord); op[s].bval = op[s].val;
  xt = 0;
  start_store(s, P_ISSUE)
}

inline observe(w, seen) {
  if
  :: seen > last[w] -> last[w] = seen
  :: else
  fi
}

inline finish_read(s) {
  printf("op%d: read at n%d (epoch %d) returns %d/%d/o%d val %d (floor %d/%d/o%d)\n", s,
         op[s].coord, op[s].ep, op[s].bep, op[s].bts, op[s].bor, op[s].bval, op[s].fep, op[s].fts,
         op[s].fo);
  assert(TGE(op[s].bep, op[s].bts, op[s].bor, op[s].fep, op[s].fts, op[s].fo));  /* P1 */
  if
  :: TGT(op[s].bep, op[s].bts, op[s].bor, cr_ep, cr_ts, cr_or) ->
     cr_ep = op[s].bep; cr_ts = op[s].bts; cr_or = op[s].bor
  :: else
  fi;
  reads_ok++;
  clear_op(s)
}

inline got_register(s) {
  if
  :: op[s].recov ->   /* EnsureWriterInitialized at the new epoch: then the write */
     printf("op%d: writer n%d learnt ts %d at epoch %d\n", s, op[s].coord, op[s].bts, op[s].ep);
     observe(op[s].coord, op[s].bts);
     wep[op[s].coord] = op[s].ep; op[s].recov = 0;
     end_round(s);
     issue(s)
  :: else -> finish_read(s)
  fi
}

inline round_done(s) {
  if
  :: op[s].ph == P_GET ->
     if
     :: op[s].agree -> got_register(s)
     :: else -> end_round(s); start_store(s, P_WB)
     fi
  :: op[s].ph == P_WB -> end_round(s); got_register(s)
  :: op[s].ph == P_ISSUE ->
     printf("op%d: write of val %d acknowledged at %d/%d/o%d\n", s, op[s].bval, op[s].bep,
            op[s].bts, op[s].bor);
     assert(TGT(op[s].bep, op[s].bts, op[s].bor, op[s].fep, op[s].fts, op[s].fo));  /* P1 */
     cw_ep = op[s].bep; cw_ts = op[s].bts; cw_or = op[s].bor; cw_val = op[s].bval; writes_ok++;
     clear_op(s)
  fi
}

inline round_failed(s) {
  printf("op%d: round fails (%d errors)\n", s, op[s].err);
  if
  :: op[s].ph == P_ISSUE && op[s].so != 0 && op[s].att > 1 ->
     observe(op[s].coord, op[s].sts);
     op[s].att--;
     end_round(s);
     issue(s)
  :: else -> fail_op(s)
  fi
}

inline progress(s) {
  if
  :: op[s].ok >= MAJE(op[s].ep) -> round_done(s)
  :: op[s].ok < MAJE(op[s].ep) && op[s].err > NSET(op[s].ep) - MAJE(op[s].ep) -> round_failed(s)
  :: else
  fi
}

inline answer(s, n) {
  printf("  op%d: answer of n%d reaches n%d: ok %d, %d/%d/o%d\n", s, n, op[s].coord,
         op[s].m[n] == M_ACK, op[s].pep[n], op[s].pts[n], op[s].por[n]);
  if
  :: op[s].m[n] == M_NAK -> op[s].err++
  :: op[s].m[n] == M_ACK && op[s].ph == P_GET ->
     if
     :: op[s].pep[n] != op[s].bep || op[s].pts[n] != op[s].bts || op[s].por[n] != op[s].bor ->
        op[s].agree = 0
     :: else
     fi;
     if
     :: GT(op[s].pep[n], op[s].pts[n], op[s].por[n], op[s].bep, op[s].bts, op[s].bor) ->
        op[s].bep = op[s].pep[n]; op[s].bts = op[s].pts[n]; op[s].bor = op[s].por[n];
        op[s].bval = op[s].pval[n]
     :: else
     fi;
     op[s].ok++
  :: op[s].m[n] == M_ACK && op[s].ph == P_ISSUE &&
     (op[s].pep[n] != op[s].bep || op[s].por[n] != op[s].bor) ->
     /* holds a stamp of another writer incarnation: does not count */
     if
     :: GT(op[s].pep[n], op[s].pts[n], op[s].por[n], op[s].sep, op[s].sts, op[s].so) ->
        op[s].sep = op[s].pep[n]; op[s].sts = op[s].pts[n]; op[s].so = op[s].por[n]
     :: else
     fi;
     op[s].err++
  :: else -> op[s].ok++
  fi;
  /* forget who answered: the round's future depends on its counts and pending calls only */
  op[s].m[n] = M_NONE; op[s].pep[n] = 0; op[s].pts[n] = 0; op[s].por[n] = 0; op[s].pval[n] = 0;
  progress(s)
}

/* a request at the operation's epoch reaches node n: CheckPeerCall, then the handler */
inline deliver(s, n) {
  printf("  op%d: request (epoch %d) reaches n%d (holds %d/%d/o%d val %d)\n", s, op[s].ep, n,
         rep[n], rts[n], ror[n], rval[n]);
  if
  :: op[s].ph == P_GET ->
     if
     :: SERVES(n, op[s].ep) ->
        op[s].m[n] = M_ACK; op[s].pep[n] = rep[n]; op[s].pts[n] = rts[n]; op[s].por[n] = ror[n];
        op[s].pval[n] = rval[n]
     :: else -> xt = op[s].ep; why_refused(n, xt); xt = 0; op[s].m[n] = M_NAK
     fi;
     answer(s, n)   /* answered and taken in one step (docs/model.md: why that loses nothing) */
  :: else ->
     if
     :: STORES(n, op[s].ep) ->
        store_at(n, op[s].bep, op[s].bts, op[s].bor, op[s].bval);
        op[s].m[n] = M_ACK; op[s].pep[n] = rep[n]; op[s].pts[n] = rts[n]; op[s].por[n] = ror[n]
     :: else -> xt = op[s].ep; why_refused(n, xt); xt = 0; op[s].m[n] = M_NAK
     fi;
     answer(s, n)
  fi
}

/* a read starts at node c, at the epoch of c's effective configuration */
inline start_read(s, c) {
  reads_started++;
  op[s].ep = EFF(c);
  set_floor(s);
  start_get(s, c)
}

/* the client's write goes to node w, the writer of w's effective configuration */
inline start_write(w) {
  writes_started++;
  op[0].val = writes_started; op[0].att = ATTEMPTS; op[0].coord = w; op[0].ep = EFF(w);
  set_floor(0);
  printf("op0: write of val %d starts at n%d, epoch %d\n", op[0].val, w, op[0].ep);
  if
  :: wep[w] != op[0].ep -> op[0].recov = 1; start_get(0, w)
  :: else -> issue(0)
  fi
}
#define WRITER(w) (up[w] && (((w) == W0 && rec[w] == R_NONE && writes_started < OLDWRITES) || \
                            ((w) == W1 && rec[w] == R_ACTIVE)))
#define READER(c) (SERVES(c, EFF(c)))

/* ---- the tool (admin/reconfigure.cc RunReconfigure) ---- */
#ifdef BUG_SEAL_MINORITY
#define SEAL_NEED 1
#else
#define SEAL_NEED MAJS
#endif

inline send_install() {
  printf("tool: Install(%d/%d/o%d val %d) to S'\n", Mep, Mts, Mor, Mval);
  aph = A_INSTALL; aok = 0; aerr = 0;
  for (xj : 0 .. NN - 1) {
    if
    :: INS2(xj) && up[xj] -> im[xj] = M_REQ
    :: INS2(xj) && !up[xj] -> aerr++
    :: else
    fi
  }
  xj = 0
}

inline send_activate() {
  printf("tool: Activate to S and S'\n");
  aph = A_ACTIVATE; aok = 0; aerr = 0;
  for (xj : 0 .. NN - 1) {
    if
    :: up[xj] -> am[xj] = M_REQ
    :: !up[xj] && INS2(xj) -> aerr++
    :: else
    fi
  }
  xj = 0
}

/* the tool moves on when a phase has its answers, fails when it cannot get them */
inline tool_progress() {
  if
  :: aph == A_SEAL && aok >= SEAL_NEED ->
     printf("tool: sealed, M = %d/%d/o%d val %d\n", Mep, Mts, Mor, Mval);
#ifdef BUG_SKIP_TRANSFER
     send_activate()
#else
     send_install()
#endif
  :: aph == A_SEAL && aok < SEAL_NEED && aerr > NS - SEAL_NEED -> aph = A_FAILED
  :: aph == A_INSTALL && aok >= MAJS2 -> send_activate()
  :: aph == A_INSTALL && aok < MAJS2 && aerr > NS2 - MAJS2 -> aph = A_FAILED
  :: aph == A_ACTIVATE && aok >= MAJS2 -> printf("tool: done\n"); aph = A_DONE
  :: aph == A_ACTIVATE && aok < MAJS2 && aerr > NS2 - MAJS2 -> aph = A_FAILED
  :: else
  fi;
  if
  :: aph == A_FAILED -> printf("tool: fails\n")
  :: else
  fi
}

inline crash(n) {
  printf("n%d crashes (for good)\n", n);
  crashes++;
  up[n] = 0;
  for (xt : 0 .. NSLOT - 1) {
    if
    :: op[xt].ph != P_IDLE && op[xt].coord == n -> fail_op(xt)
    :: else
    fi;
    if
    :: op[xt].m[n] == M_REQ -> op[xt].m[n] = M_NAK
    :: else
    fi
  }
  xt = 0;
  for (xj : 0 .. ORPH - 1) {
    if
    :: oon[xj] && on[xj] == n ->
       oon[xj] = 0; on[xj] = 0; oce[xj] = 0; oep[xj] = 0; ots[xj] = 0; oor[xj] = 0; oval[xj] = 0
    :: else
    fi
  }
  xj = 0;
  if :: sm[n] == M_REQ && aph == A_SEAL -> aerr++ :: else fi;
  if :: im[n] == M_REQ && aph == A_INSTALL -> aerr++ :: else fi;
  if :: am[n] == M_REQ && aph == A_ACTIVATE && INS2(n) -> aerr++ :: else fi;
  sm[n] = M_NONE; im[n] = M_NONE; am[n] = M_NONE;
  tool_progress()
}

/* The tool's calls: each is delivered and answered in one step (a delivered call whose answer
   is lost is one the tool stops waiting for once it has its majority; the answers it counts
   are the first to arrive, in any order: docs/model.md).
   HandleSeal: a replica at C0 (no record) or already sealed for C1 records SEALED and answers
   its register; one at epoch 1 refuses (FAILED_PRECONDITION). HandleInstall: stores M if
   newer, the record unchanged. HandleActivate: ACTIVE(C1) in S', RETIRED(C1) in S \ S'. */
#define TOOL_MSGS(n) \
  :: d_step { n < NN && sm[n] == M_REQ && up[n] -> \
       if \
       :: rec[n] == R_NONE || rec[n] == R_SEALED -> \
          printf("  Seal reaches n%d: sealed, answers %d/%d/o%d val %d\n", n, rep[n], rts[n], \
                 ror[n], rval[n]); \
          rec[n] = R_SEALED; \
          if \
          :: aph == A_SEAL -> \
             if \
             :: GT(rep[n], rts[n], ror[n], Mep, Mts, Mor) -> \
                Mep = rep[n]; Mts = rts[n]; Mor = ror[n]; Mval = rval[n] \
             :: else \
             fi; \
             aok++ \
          :: else \
          fi \
       :: else -> printf("  Seal reaches n%d: refused, at epoch 1\n", n); \
          if :: aph == A_SEAL -> aerr++ :: else fi \
       fi; \
       sm[n] = M_NONE; tool_progress(); check_lost() } \
  :: d_step { n < NN && im[n] == M_REQ && up[n] -> \
       printf("  Install reaches n%d (holds %d/%d/o%d val %d)\n", n, rep[n], rts[n], ror[n], \
              rval[n]); \
       store_at(n, Mep, Mts, Mor, Mval); \
       if :: aph == A_INSTALL -> aok++ :: else fi; \
       im[n] = M_NONE; tool_progress(); check_lost() } \
  :: d_step { n < NN && am[n] == M_REQ && up[n] -> \
       if \
       :: INS2(n) -> printf("  Activate reaches n%d: ACTIVE(C1)\n", n); rec[n] = R_ACTIVE; \
          anyactive = 1; \
          if :: aph == A_ACTIVATE -> aok++ :: else fi \
       :: else -> printf("  Activate reaches n%d: RETIRED(C1)\n", n); rec[n] = R_RETIRED \
       fi; \
       am[n] = M_NONE; tool_progress(); check_lost() }

#define MSG(s, n) \
  :: d_step { n < NN && op[s].m[n] == M_REQ && up[n] -> deliver(s, n); check_lost() } \
  :: d_step { n < NN && (op[s].m[n] == M_ACK || op[s].m[n] == M_NAK) -> \
       answer(s, n); check_lost() }

#ifdef LIVE
/* a node that is not needed: not a writer, and a majority of S and of S' stay up */
#define FAULT_OK(n) ((n) == 2 && W1 != 2)
#define TIMEOUT(s)
#else
/* Only the write times out: one write runs at a time, and its client's next write starts
   while its Stores are still in flight. A read that never completes stays in its slot with
   its requests still deliverable, a superset of a read that timed out (the second read has
   its own slot). */
#define FAULT_OK(n) (1)
#define TIMEOUT(s) \
  :: d_step { op[s].ph != P_IDLE -> printf("op%d: times out\n", s); clear_op(s); check_lost() }
#endif

#define NODE(n) \
  :: d_step { n < NN && op[1].ph == P_IDLE && reads_started < READS && READER(n) -> \
       start_read(1, n); check_lost() } \
  :: d_step { n < NN && op[1].ph != P_IDLE && op[2].ph == P_IDLE && reads_started < READS && \
              READER(n) -> start_read(2, n); check_lost() } \
  :: d_step { n < NN && crashes < CRASHES && up[n] && FAULT_OK(n) -> crash(n); check_lost() } \
  TOOL_MSGS(n) \
  MSG(0, n) MSG(1, n) MSG(2, n)

#define ORPHAN(k) \
  :: d_step { oon[k] && up[on[k]] -> \
       printf("  late Store (epoch %d) of %d/%d/o%d val %d reaches n%d\n", oce[k], oep[k], ots[k], \
              oor[k], oval[k], on[k]); \
       if \
       :: STORES(on[k], oce[k]) -> store_at(on[k], oep[k], ots[k], oor[k], oval[k]) \
       :: else -> xt = oce[k]; why_refused(on[k], xt); xt = 0 \
       fi; \
       oon[k] = 0; on[k] = 0; oce[k] = 0; oep[k] = 0; ots[k] = 0; oor[k] = 0; oval[k] = 0; \
       if /* keep the pool packed: one state per set of Stores in flight */ \
       :: k == 0 && oon[1] -> oon[0] = 1; on[0] = on[1]; oce[0] = oce[1]; oep[0] = oep[1]; \
          ots[0] = ots[1]; oor[0] = oor[1]; oval[0] = oval[1]; \
          oon[1] = 0; on[1] = 0; oce[1] = 0; oep[1] = 0; ots[1] = 0; oor[1] = 0; oval[1] = 0 \
       :: else \
       fi; \
       check_lost() }

active proctype cluster() {
  for (xj : 0 .. NN - 1) { up[xj] = 1 }
  xj = 0;
  wep[0] = 0; wep[1] = 2;
#ifndef LIVE
end:
#endif
  do
  :: d_step { aph == A_IDLE ->
       printf("tool: Seal to S\n");
       aph = A_SEAL;
       for (xj : 0 .. NN - 1) {
         if
         :: INS(xj) && up[xj] -> sm[xj] = M_REQ
         :: INS(xj) && !up[xj] -> aerr++
         :: else
         fi
       }
       xj = 0 }
  :: d_step { op[0].ph == P_IDLE && writes_started < WRITES && WRITER(W0) ->
       start_write(W0); check_lost() }
#if W1 != W0
  :: d_step { op[0].ph == P_IDLE && writes_started < WRITES && WRITER(W1) ->
       start_write(W1); check_lost() }
#endif
  NODE(0) NODE(1) NODE(2)
#if NN > 3
  NODE(3)
#endif
#if NN > 4
  NODE(4)
#endif
  TIMEOUT(0)
  ORPHAN(0) ORPHAN(1)
  :: writes_started == WRITES && reads_started == READS && op[0].ph == P_IDLE &&
     op[1].ph == P_IDLE && op[2].ph == P_IDLE && aph >= A_DONE -> break
  od;
#ifdef LIVE
  assert(aph == A_DONE)  /* P5: the reconfiguration completes */
#endif
}
