/*
 * The register protocol of one token, for SPIN (docs/model.md says how to run it, what each
 * step is in the C++ code, and what is left out).
 *
 * One process runs a loop of guarded atomic steps (d_step), one per event the real system
 * can take in any order: an operation starts, a request reaches a replica, a reply reaches the
 * coordinator, an operation times out, a node crashes, restarts with or without its disk, a
 * rebuild probe is answered, a start is recorded, a token is crash-stopped. A message that
 * is never delivered is a lost one, so delay, reordering and loss are all the same freedom:
 * any pending message may be taken next, or never.
 *
 * Compile-time switches:
 *   N WRITES READS CRASHES MARKS   the bounds (defaults below)
 *   LIVE                           the liveness check: no timeouts, at most one fault, on a
 *                                  replica that is not the writer; every operation must
 *                                  complete (else an assertion or an invalid end state)
 *   BUG_SKIP_WRITE_BACK BUG_READ_LOCAL BUG_SKIP_REBUILD BUG_REUSE_TIMESTAMP
 *                                  the deliberate bugs of replica/unsafe_bug.h
 *   REBUILD_AT_ONCE                the rebuild probes at once, as the code did before the
 *                                  fix (the clean model waits: docs/model.md, "The rebuild race")
 *   VALUES                         also check atomicity on values (docs/model.md, P1)
 */

#ifndef N
#define N 3            /* replicas of the token; node 0 is its writer, every node a reader */
#endif
#ifndef WRITES
#define WRITES 2       /* writes in a run */
#endif
#ifndef READS
#define READS 2        /* reads in a run (at most two at a time) */
#endif
#ifndef CRASHES
#define CRASHES 1      /* crashes in a run (each followed by a restart with or without disk) */
#endif
#ifndef MARKS
#define MARKS 1        /* crash-stop marks set in a run */
#endif

#define MAJ (N / 2 + 1)          /* a majority of the replicas */
#define NEED ((N - 1) / 2 + 1)   /* a majority of the others: NodeLifecycle::DecideToken */
#define BLOCK 2                  /* timestamps reserved at once (1024 in the code) */
#define ATTEMPTS 3               /* ReplicaOptions::max_issue_attempts */
#define ORPH 2                   /* Stores still in flight after their round ended */
#define NSLOT 3                  /* slot 0: the write; slots 1 and 2: reads */
#define W 0                      /* the writer's node */

/* node states (NodeState; kFresh is folded into REBUILDING, see docs/model.md) */
#define DOWN 0
#define STARTING 1      /* restarted on its disk, start not yet recorded by the peers */
#define REBUILDING 2    /* restarted without its disk */
#define SERVING 3

/* message states, per operation and replica */
#define M_NONE 0
#define M_REQ 1         /* request in flight */
#define M_ACK 2         /* answer in flight (payload in pts/por/pval) */
#define M_NAK 3         /* error in flight (UNAVAILABLE, connection refused) */
#define M_DONE 4        /* answer taken by the coordinator */

/* operation phases */
#define P_IDLE 0
#define P_GET 1         /* GetRegister round of a read (or of the writer's recovery read) */
#define P_WB 2          /* Store round of the read's write-back (impose) */
#define P_ISSUE 3       /* Store round of a write */

/* stamps (ts, origin), ordered as Stamp::operator<=> */
#define GT(t1, o1, t2, o2) ((t1) > (t2) || ((t1) == (t2) && (o1) > (o2)))
#define GE(t1, o1, t2, o2) (!GT(t2, o2, t1, o1))

/* ---- durable state of each replica ---- */
byte rts[N], ror[N], rval[N];   /* the register: stamp and value (value = a write's number) */
bit mark[N];                    /* crash-stop mark (fail-silent for this token) */
byte resv;                      /* the writer's durable reservation */
byte origin = 3;                /* the writer incarnation's origin (new one after a wipe) */

/* ---- volatile state ---- */
byte ns[N];                     /* node state, SERVING at the start */
bit rebuilt[N], recorded[N];    /* REBUILDING: token rebuilt; incarnation recorded */
byte last;                      /* the writer's allocator: last ts issued or observed */
bit winit = 1;                  /* the writer learnt the token since it started
                                   (a new cluster: nothing to learn) */

typedef Op {
  byte ph;
  byte coord;
  byte val;                     /* a write's value (its number) */
  bit recov;                    /* the write's recovery read runs */
  bit agree;                    /* every answer so far carries the same stamp */
  byte m[N];
  byte pts[N]; byte por[N]; byte pval[N];   /* answers in flight */
  byte ok; byte err;
  byte bts; byte bor; byte bval; /* highest answer (GET) or the register being stored */
  byte fts; byte fo;            /* floor: what had completed when the operation began */
  byte att;                     /* issue attempts left */
  byte sts; byte so;            /* newest stamp of another incarnation a Store met */
};
Op op[NSLOT];
bit stale[NSLOT];               /* the operation ran when a node crashed: it may count that
                                   node's acknowledgement from before the crash */

/* Stores whose round ended (met its majority, failed or timed out) still in flight */
byte on[ORPH], ots[ORPH], oor[ORPH], oval[ORPH];
bit oon[ORPH];                  /* slot in use */

/* the rebuild of node rbn (while rbon): its probes to the others */
byte rbn;
bit rbon;                       /* a rebuild runs, of node rbn */
byte rbm[N];                    /* M_REQ, M_ACK, M_NAK, M_DONE; M_NONE: no answer */
byte rbts[N], rbor[N], rbval[N];
bit rbserv[N];

/* ---- bookkeeping and properties ---- */
byte writes_started, reads_started, crashes, marks, writes_ok, reads_ok;
byte cw_ts, cw_or, cw_val;      /* the last completed (acknowledged) write */
byte cr_ts, cr_or;              /* the highest stamp a completed read returned */
byte issued[6];                 /* per origin: the highest ts issued */
byte omin = 3, omax = 3;        /* origins drawn so far (a new one: below or above all) */

hidden byte xj, xk, xt;            /* scratch, assigned before use in each step */

/* P4, no acknowledged write lost: fewer than a majority of the replicas that count (or will
   count without a repair) lack the last acknowledged write, so every majority has it. */
inline check_lost() {
  xk = 0;
  for (xj : 0 .. N - 1) {
    if
    :: (ns[xj] != REBUILDING || rebuilt[xj]) &&
       !(GT(rts[xj], ror[xj], cw_ts, cw_or) ||
         (rts[xj] == cw_ts && ror[xj] == cw_or && rval[xj] == cw_val)) -> xk++
    :: else
    fi
  }
  assert(xk < MAJ);  /* P2: an acknowledged write is lost */
  xj = 0; xk = 0
}

/* RegisterStore::StoreIfNewer at node n */
inline store_at(n, ts, o, v) {
  if
  :: GT(ts, o, rts[n], ror[n]) -> rts[n] = ts; ror[n] = o; rval[n] = v
  :: else ->
     assert(!(ts == rts[n] && o == ror[n]) || v == rval[n])  /* P3: two values, one stamp */
  fi
}

inline orphan(n, ts, o, v) {
  if
  :: !oon[0] -> oon[0] = 1; on[0] = n; ots[0] = ts; oor[0] = o; oval[0] = v
  :: else ->
     if
     :: !oon[1] -> oon[1] = 1; on[1] = n; ots[1] = ts; oor[1] = o; oval[1] = v
     :: else /* pool full: this Store is lost */
     fi
  fi
}

/* a round ends: Stores not yet delivered stay in flight; GetRegisters are cancelled */
inline end_round(s) {
  for (xj : 0 .. N - 1) {
    if
    :: op[s].m[xj] == M_REQ && op[s].ph != P_GET -> orphan(xj, op[s].bts, op[s].bor, op[s].bval)
    :: else
    fi;
    op[s].m[xj] = M_NONE; op[s].pts[xj] = 0; op[s].por[xj] = 0; op[s].pval[xj] = 0
  }
  xj = 0;
  op[s].ok = 0; op[s].err = 0; op[s].sts = 0; op[s].so = 0; op[s].agree = 0
}

inline clear_op(s) {
  end_round(s);
  stale[s] = 0;
  op[s].ph = P_IDLE; op[s].coord = 0; op[s].val = 0; op[s].recov = 0;
  op[s].bts = 0; op[s].bor = 0; op[s].bval = 0; op[s].fts = 0; op[s].fo = 0; op[s].att = 0
}

/* ReplicaCore::GetRound: the coordinator's own answer first, then the others */
inline start_get(s, c) {
  printf("op%d: GetRegister round at n%d (own ts %d/o%d val %d)\n", s, c, rts[c], ror[c], rval[c]);
  op[s].ph = P_GET; op[s].coord = c;
  op[s].bts = rts[c]; op[s].bor = ror[c]; op[s].bval = rval[c];
  op[s].ok = 1; op[s].agree = 1;
  for (xj : 0 .. N - 1) {
    if
    :: xj == c -> op[s].m[xj] = M_DONE
    :: xj != c && ns[xj] == DOWN -> op[s].m[xj] = M_NAK
    :: else -> op[s].m[xj] = M_REQ
    fi
  }
  xj = 0
}

/* ReplicaCore::StoreRound: Store(bts, bor, bval) to every replica, the coordinator too */
inline start_store(s, phase) {
  printf("op%d: Store round of ts %d/o%d val %d from n%d\n", s, op[s].bts, op[s].bor, op[s].bval,
         op[s].coord);
  op[s].ph = phase;
  for (xj : 0 .. N - 1) {
    if
    :: ns[xj] == DOWN -> op[s].m[xj] = M_NAK
    :: else -> op[s].m[xj] = M_REQ
    fi
  }
  xj = 0
}

/* TimestampAllocator::Next, then ReplicaCore::IssueAttempt's StoreRound */
inline issue(s) {
  xt = last + 1;
  if
  :: xt > resv -> resv = xt + BLOCK - 1   /* ReserveLocked: synced before the ts is used */
  :: else
  fi;
  last = xt;
  printf("op%d: writer issues val %d at ts %d/o%d (reserved up to %d)\n", s, op[s].val, xt,
         origin, resv);
  assert(xt > issued[origin]);  /* P3: a stamp issued twice */
  issued[origin] = xt;
  op[s].bts = xt; op[s].bor = origin; op[s].bval = op[s].val;
  xt = 0;
  start_store(s, P_ISSUE)
}

/* TimestampAllocator::Observe */
inline observe(seen) {
#ifdef BUG_REUSE_TIMESTAMP
  skip   /* the reuse bug ignores Observe */
#else
  if
  :: seen > last ->
     if
     :: seen > resv -> resv = seen
     :: else
     fi;
     last = seen
  :: else
  fi
#endif
}

/* VALUES: a check on values, not stamps (off by default; docs/model.md). A value that a read
   returned, then a later read replaced by another, must never be returned again by a read
   that starts after that: each write is one event of the history, so a value cannot come
   back once another one was read after it (a write issued again at a new stamp, the only
   way one value sits at two stamps, must not be seen on both sides of another value). */
#ifdef VALUES
byte returned;                  /* bit v: some completed read returned value v */
byte gone;                      /* bit v: value v was read, then another one after it */
byte vprev[NSLOT], vgone[NSLOT];
#define VALUE_START(s) vprev[s] = returned; vgone[s] = gone
#define VALUE_CHECK(s, v) \
  assert((vgone[s] & (1 << (v))) == 0);  /* P1 on values: a replaced value came back */ \
  gone = gone | (vprev[s] & ~(1 << (v))); returned = returned | (1 << (v)); \
  vprev[s] = 0; vgone[s] = 0
#else
#define VALUE_START(s) skip
#define VALUE_CHECK(s, v) skip
#endif

/* a read's value is returned to its client (FinishRead) */
inline finish_read(s, ts, o, v) {
  printf("op%d: read at n%d returns ts %d/o%d val %d (floor ts %d/o%d)\n", s, op[s].coord, ts, o,
         v, op[s].fts, op[s].fo);
  if
  :: !mark[op[s].coord] ->   /* a crash-stopped coordinator withholds the answer */
     assert(GE(ts, o, op[s].fts, op[s].fo));  /* P1: atomicity */
     if
     :: GT(ts, o, cr_ts, cr_or) -> cr_ts = ts; cr_or = o
     :: else
     fi;
     reads_ok++;
     VALUE_CHECK(s, v)
  :: else
  fi;
  clear_op(s)
}

/* the GET round met its majority (QuorumRead), or the write-back did */
inline got_register(s) {
  if
  :: op[s].recov ->   /* EnsureWriterInitialized: then the write itself */
     observe(op[s].bts);
     winit = 1; op[s].recov = 0;
     end_round(s);
     issue(s)
  :: else -> finish_read(s, op[s].bts, op[s].bor, op[s].bval)
  fi
}

inline round_done(s) {
  if
  :: op[s].ph == P_GET ->
#ifdef BUG_SKIP_WRITE_BACK
     got_register(s)
#else
     if
     :: op[s].agree -> got_register(s)   /* fast path: the majority agrees */
     :: else -> end_round(s); start_store(s, P_WB)   /* impose the highest */
     fi
#endif
  :: op[s].ph == P_WB -> end_round(s); got_register(s)
  :: op[s].ph == P_ISSUE ->   /* the write is acknowledged */
     printf("op%d: write of val %d acknowledged at ts %d/o%d\n", s, op[s].bval, op[s].bts,
            op[s].bor);
     if
     :: !mark[W] ->
        assert(GT(op[s].bts, op[s].bor, op[s].fts, op[s].fo));  /* P1: a write is newer than
                                                                   what completed before it */
        cw_ts = op[s].bts; cw_or = op[s].bor; cw_val = op[s].bval; writes_ok++
     :: else
     fi;
     clear_op(s)
  fi
}

inline round_failed(s) {
  printf("op%d: round fails (%d errors)\n", s, op[s].err);
  if
  :: op[s].ph == P_ISSUE && op[s].so != 0 && op[s].att > 1 ->
     /* IssueAttempt: superseded by another incarnation: move above it, issue again */
     observe(op[s].sts);
     op[s].att--;
     end_round(s);
     issue(s)
  :: else -> clear_op(s)
  fi
}

inline progress(s) {
  if
  :: op[s].ok >= MAJ -> round_done(s)
  :: op[s].ok < MAJ && op[s].err > N - MAJ -> round_failed(s)
  :: else
  fi
}

/* an answer reaches the coordinator (QuorumRound::OnReply, StoreRound's reply filter) */
inline answer(s, n) {
  printf("  op%d: answer of n%d reaches n%d: ok %d, ts %d/o%d\n", s, n, op[s].coord,
         op[s].m[n] == M_ACK, op[s].pts[n], op[s].por[n]);
  if
  :: op[s].m[n] == M_NAK -> op[s].err++
  :: op[s].m[n] == M_ACK && op[s].ph == P_GET ->
     if
     :: op[s].pts[n] != op[s].bts || op[s].por[n] != op[s].bor -> op[s].agree = 0
     :: else
     fi;
     if
     :: GT(op[s].pts[n], op[s].por[n], op[s].bts, op[s].bor) ->
        op[s].bts = op[s].pts[n]; op[s].bor = op[s].por[n]; op[s].bval = op[s].pval[n]
     :: else
     fi;
     op[s].ok++
  :: op[s].m[n] == M_ACK && op[s].ph == P_ISSUE &&
     op[s].pts[n] != op[s].bts && op[s].por[n] != op[s].bor ->
     /* held a stamp of another incarnation: does not count */
     if
     :: GT(op[s].pts[n], op[s].por[n], op[s].sts, op[s].so) ->
        op[s].sts = op[s].pts[n]; op[s].so = op[s].por[n]
     :: else
     fi;
     op[s].err++
  :: else -> op[s].ok++
  fi;
  op[s].m[n] = M_DONE; op[s].pts[n] = 0; op[s].por[n] = 0; op[s].pval[n] = 0;
  progress(s)
}

/* a request reaches replica n (ReplicaCore::HandleGetRegister / HandleStoreBatch) */
inline deliver(s, n) {
  printf("  op%d: request reaches n%d (holds ts %d/o%d val %d)\n", s, n, rts[n], ror[n], rval[n]);
  if
  :: op[s].ph == P_GET ->
     if
     :: ns[n] == SERVING ->
        op[s].m[n] = M_ACK; op[s].pts[n] = rts[n]; op[s].por[n] = ror[n]; op[s].pval[n] = rval[n]
     :: else -> op[s].m[n] = M_NAK
     fi
  :: else ->
     store_at(n, op[s].bts, op[s].bor, op[s].bval);
     if
     :: ns[n] == SERVING || (ns[n] == REBUILDING && recorded[n]) ->   /* Acknowledges() */
        op[s].m[n] = M_ACK; op[s].pts[n] = rts[n]; op[s].por[n] = ror[n]
     :: else -> op[s].m[n] = M_NAK
     fi;
     answer(s, n)   /* applied and answered in one step (see docs/model.md) */
  fi
}

inline start_read(s, c) {
  reads_started++;
  if
  :: GT(cw_ts, cw_or, cr_ts, cr_or) -> op[s].fts = cw_ts; op[s].fo = cw_or
  :: else -> op[s].fts = cr_ts; op[s].fo = cr_or
  fi;
  op[s].coord = c;
  VALUE_START(s);
#ifdef BUG_READ_LOCAL
  finish_read(s, rts[c], ror[c], rval[c])
#else
  start_get(s, c)
#endif
}

/* the coordinator's operations end with it (crash) or its client gives up (LIVE: retries) */
inline drop_ops_of(n) {
  for (xt : 0 .. NSLOT - 1) {
    if
    :: op[xt].ph != P_IDLE && op[xt].coord == n ->
       if
       :: xt == 0 -> skip
       :: else ->
#ifdef LIVE
          reads_started--
#else
          skip
#endif
       fi;
       clear_op(xt)
    :: else
    fi
  }
  xt = 0
}

inline crash(n) {
  printf("n%d crashes\n", n);
  crashes++;
  drop_ops_of(n);
  ns[n] = DOWN; rebuilt[n] = 0; recorded[n] = 0;
  for (xt : 0 .. NSLOT - 1) {
    if
    :: op[xt].ph != P_IDLE -> stale[xt] = 1
    :: else
    fi
  }
  for (xt : 0 .. NSLOT - 1) {   /* connections to it break */
    if
    :: op[xt].m[n] == M_REQ -> op[xt].m[n] = M_NAK
    :: else
    fi
  }
  xt = 0;
  for (xj : 0 .. ORPH - 1) {
    if
    :: oon[xj] && on[xj] == n -> oon[xj] = 0; on[xj] = 0; ots[xj] = 0; oor[xj] = 0; oval[xj] = 0
    :: else
    fi
  }
  xj = 0;
  if
  :: rbon && rbn == n -> rbon = 0; rbn = 0;
     for (xj : 0 .. N - 1) { rbm[xj] = M_NONE; rbts[xj] = 0; rbor[xj] = 0; rbval[xj] = 0; rbserv[xj] = 0 }
     xj = 0
  :: rbon && rbm[n] == M_REQ -> rbm[n] = M_NAK
  :: else
  fi;
  if
  :: n == W -> winit = 0; last = 0
  :: else
  fi
}

/* restart on the same disk: NodeLifecycle::Open (kStarting), TimestampAllocator::LoadLocked */
inline restart(n) {
  printf("n%d restarts on its disk\n", n);
  ns[n] = STARTING;
  if
  :: n == W ->
#ifdef BUG_REUSE_TIMESTAMP
     if
     :: resv >= BLOCK -> last = resv - BLOCK
     :: else -> last = 0
     fi
#else
     last = resv
#endif
  :: else
  fi
}

/* restart on an empty disk: the register, the reservation and the mark are gone; a new
   origin (NodeLifecycle::BeginRebuild); the probes of AdvanceRebuild go out */
inline wipe(n, above) {
  printf("n%d restarts on an empty disk\n", n);
  rts[n] = 0; ror[n] = 0; rval[n] = 0; mark[n] = 0;
  if
  :: n == W -> resv = 0; last = 0;
     if   /* a random origin: below or above every earlier one (two steps) */
     :: above -> omax++; origin = omax
     :: else -> omin--; origin = omin
     fi
  :: else
  fi;
#ifdef BUG_SKIP_REBUILD
  ns[n] = SERVING
#else
  ns[n] = REBUILDING; rbon = 1; rbn = n;
  for (xj : 0 .. N - 1) {
    if
    :: xj == n -> rbm[xj] = M_NONE
    :: xj != n && ns[xj] == DOWN -> rbm[xj] = M_NAK
    :: else -> rbm[xj] = M_REQ
    fi
  }
  xj = 0
#endif
}

inline maybe_serve(n) {
  if
  :: rebuilt[n] && recorded[n] -> ns[n] = SERVING; rebuilt[n] = 0; recorded[n] = 0; rbon = 0; rbn = 0;
     for (xj : 0 .. N - 1) { rbm[xj] = M_NONE; rbts[xj] = 0; rbor[xj] = 0; rbval[xj] = 0; rbserv[xj] = 0 }
     xj = 0
  :: else
  fi
}

/* NodeLifecycle::DecideToken after each probe answer */
inline decide() {
  xk = 0; xt = 0;   /* xk: answers from serving replicas; xt: answers; +N: one holds data */
  for (xj : 0 .. N - 1) {
    if
    :: rbm[xj] == M_DONE -> xt++;
       if
       :: rbserv[xj] -> xk++
       :: else
       fi;
       if
       :: rbts[xj] > 0 && xt < N -> xt = xt + N
       :: else
       fi
    :: else
    fi
  }
  if
  :: xk >= NEED || (xt == N - 1 && rts[rbn] == 0) ->   /* all answered, none holds data */
     for (xj : 0 .. N - 1) {
       if
       :: rbm[xj] == M_DONE && GT(rbts[xj], rbor[xj], rts[rbn], ror[rbn]) ->
          store_at(rbn, rbts[xj], rbor[xj], rbval[xj])
       :: else
       fi
     }
     printf("n%d rebuilt: ts %d/o%d val %d\n", rbn, rts[rbn], ror[rbn], rval[rbn]);
     rebuilt[rbn] = 1;
     maybe_serve(rbn)
  :: else
  fi;
  xj = 0; xk = 0; xt = 0
}

/* the probes of one replica: answered (HandleProbe), taken, retried in a later round */
#define PROBE(n) \
  :: d_step { n < N && rbon && rbm[n] == M_REQ && ns[n] != DOWN && !mark[n] -> \
       printf("  probe of n%d answered by n%d: ts %d/o%d serving %d\n", rbn, n, rts[n], ror[n], \
              ns[n] == SERVING); \
       rbm[n] = M_ACK; rbts[n] = rts[n]; rbor[n] = ror[n]; rbval[n] = rval[n]; \
       rbserv[n] = (ns[n] == SERVING) } \
  :: d_step { n < N && rbon && (rbm[n] == M_ACK || rbm[n] == M_NAK) -> \
       if \
       :: rbm[n] == M_ACK -> rbm[n] = M_DONE \
       :: else -> rbm[n] = M_NONE \
       fi; \
       if \
       :: !rebuilt[rbn] -> decide(); check_lost() \
       :: else \
       fi } \
  :: d_step { n < N && rbon && n != rbn && !rebuilt[rbn] && ns[n] != DOWN && \
              (rbm[n] == M_NONE || (rbm[n] == M_DONE && !rbserv[n])) -> \
       rbm[n] = M_REQ; rbts[n] = 0; rbor[n] = 0; rbval[n] = 0; rbserv[n] = 0 }

/* one operation slot and one replica: the request arrives, the answer arrives */
#define MSG(s, n) \
  :: d_step { n < N && op[s].m[n] == M_REQ && ns[n] != DOWN && \
              (!mark[n] || n == op[s].coord) -> \
       deliver(s, n); check_lost() } \
  :: d_step { n < N && (op[s].m[n] == M_ACK || op[s].m[n] == M_NAK) -> \
       answer(s, n); check_lost() }

/* events of one node */
/* A rebuild probes only once every operation that ran when the node crashed has ended (it
   may count an acknowledgement the lost disk gave: docs/model.md, "The rebuild race");
   REBUILD_AT_ONCE probes at once, as replica/node_lifecycle.cc did before the fix. */
#ifdef REBUILD_AT_ONCE
#define QUIET (1)
#else
#define QUIET (!stale[0] && !stale[1] && !stale[2])
#endif

#ifdef LIVE
#define FAULT_OK(n) (n != W && crashes + marks == 0)
#else
#define FAULT_OK(n) (1)
#endif
#define NODE(n) \
  :: d_step { n < N && op[1].ph == P_IDLE && reads_started < READS && ns[n] == SERVING && \
              !mark[n] -> start_read(1, n); check_lost() } \
  :: d_step { n < N && op[1].ph != P_IDLE && op[2].ph == P_IDLE && reads_started < READS && \
              ns[n] == SERVING && !mark[n] -> start_read(2, n); check_lost() } \
  :: d_step { n < N && crashes < CRASHES && ns[n] != DOWN && FAULT_OK(n) -> \
       crash(n); check_lost() } \
  :: d_step { n < N && ns[n] == DOWN -> restart(n); check_lost() } \
  :: d_step { n < N && ns[n] == DOWN && !rbon && QUIET -> wipe(n, 0); check_lost() } \
  :: d_step { n == W && ns[n] == DOWN && !rbon && QUIET -> wipe(n, 1); check_lost() } \
  :: d_step { n < N && ns[n] == STARTING -> \
       printf("n%d: start recorded, serving\n", n); ns[n] = SERVING; check_lost() } \
  :: d_step { n < N && ns[n] == REBUILDING && !recorded[n] -> \
       recorded[n] = 1; maybe_serve(n); check_lost() } \
  :: d_step { n < N && marks < MARKS && !mark[n] && FAULT_OK(n) -> \
       printf("n%d crash-stopped for the token\n", n); marks++; mark[n] = 1; MARK_LIVE(n) } \
  PROBE(n) \
  MSG(0, n) MSG(1, n) MSG(2, n)

#ifdef LIVE
#define MARK_LIVE(n) drop_ops_of(n)   /* its clients give up and ask another node */
#define TIMEOUT(s)
#else
#define MARK_LIVE(n) skip
#define TIMEOUT(s) :: d_step { op[s].ph != P_IDLE -> printf("op%d: times out\n", s); clear_op(s); check_lost() }
#endif

#define ORPHAN(k) \
  :: d_step { oon[k] && ns[on[k]] != DOWN && !mark[on[k]] -> \
       printf("  late Store of ts %d/o%d val %d reaches n%d\n", ots[k], oor[k], oval[k], on[k]); \
       store_at(on[k], ots[k], oor[k], oval[k]); \
       oon[k] = 0; on[k] = 0; ots[k] = 0; oor[k] = 0; oval[k] = 0; check_lost() }

active proctype cluster() {
  for (xj : 0 .. N - 1) { ns[xj] = SERVING }
  xj = 0;
#ifndef LIVE
end:
#endif
  do
  :: d_step { op[0].ph == P_IDLE && writes_started < WRITES && ns[W] == SERVING && !mark[W] ->
       writes_started++;
       op[0].val = writes_started; op[0].att = ATTEMPTS; op[0].coord = W;
       if
       :: GT(cw_ts, cw_or, cr_ts, cr_or) -> op[0].fts = cw_ts; op[0].fo = cw_or
       :: else -> op[0].fts = cr_ts; op[0].fo = cr_or
       fi;
       if
       :: !winit -> op[0].recov = 1; start_get(0, W)
       :: else -> issue(0)
       fi;
       check_lost() }
  NODE(0) NODE(1) NODE(2)
#if N > 3
  NODE(3)
#endif
#if N > 4
  NODE(4)
#endif
  TIMEOUT(0) TIMEOUT(1) TIMEOUT(2)
  ORPHAN(0) ORPHAN(1)
  :: writes_started == WRITES && reads_started == READS && op[0].ph == P_IDLE &&
     op[1].ph == P_IDLE && op[2].ph == P_IDLE -> break
  od;
#ifdef LIVE
  assert(writes_ok == WRITES && reads_ok == READS)  /* P5: every operation completed */
#endif
}
