"""Dev-only variants of InteraRec's catalog query on the LC-Rec Scientific folder (issue 19, step 1): the valid
split, seed 0, cached pages; each variant's HR@10 and the share of targets in its candidate pool. Never reads
test targets. Run: .venv/bin/python -m evals.lcrec_sweep USERS 'VARIANTS' where VARIANTS is a JSON list of
{"policy": "soft"|"hard", "pool": int, "tw": type weight, "bw": base-query weight, "sm": "stan"|"vsknn"|"sknn"
(optional session model), "sw": session weight, "mpb": null to drop the per-brand cap, "lw": lexical weight,
"brw": seen-brand weight (both 0 when absent: the embeddings only), "add": the session model's best products
added to the pool (0 when absent)}."""

import json
import sys
import time

from agent.settings import Settings
from agent.wiring import build_runtime, start_shop
from evals.datasets import lcrec
from evals.lcrec_run import page_frames
from evals.run import EVAL_PACE_S
from tools.recommend.candidates import retrieve_seen, with_session_candidates, with_session_scores
from tools.recommend.constraints import constraints_from_summary, inferred_types, seen_brands, seen_queries
from tools.recommend.lexical import index_for
from tools.recommend.optimizer import select
from tools.sessions.models import SKNN, STAN, VSKNN

DATA = "/work/shared/data/sessions-amazon-scientific-2018"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    variants = json.loads(sys.argv[2])
    data = lcrec.load(DATA)
    products, _ = lcrec.products(data)
    titles = {p.id: p.title for p in products}
    cases = lcrec.cases(data, "valid", lcrec.sample_users(data, "valid", n, 0), titles, 5)
    s = Settings()
    tag = f"lcrec-{data.name}-{data.digest[:16]}"
    s = s.model_copy(update={"catalog_dir": s.data_dir / "eval-catalogs" / tag,
                             "frames_dir": s.data_dir / "eval-pages" / tag, "retention_days": None,
                             "pace_s": EVAL_PACE_S})
    rt = build_runtime(s, products, None)
    pids = list(dict.fromkeys(st.text.removeprefix("/p/") for c in cases for st in c.persona.steps))
    with start_shop(rt) as shop:
        pages = page_frames(rt, pids, shop.url, print)
    summaries = {c.case_id: rt.summariser.summarise([f for st in c.persona.steps
                                                     for f in pages[st.text.removeprefix("/p/")]]) for c in cases}
    train = lcrec.train_sequences(data, "valid")
    models = {"stan": STAN(), "vsknn": VSKNN(), "sknn": SKNN()}
    for model in models.values():
        model.fit(train)
    for v in variants:
        hits = found = 0
        started = time.perf_counter()
        for c in cases:
            summary, target = summaries[c.case_id], next(iter(c.targets))
            policy = v["policy"]
            if policy.startswith("auto"):  # "auto:0.8": a filter when one type holds that share of the recent ones
                shares = inferred_types(summary)
                policy = "hard" if shares and max(shares.values()) >= float(policy[5:]) else "soft"
            cons = constraints_from_summary(summary, k=10, category_policy=policy)
            types = inferred_types(summary) if policy == "soft" else None
            cands = retrieve_seen(rt.store, cons, seen_queries(summary), exclude_ids=list(c.viewed_ids),
                                  pool=v["pool"], types=types, type_weight=v["tw"], base_weight=v["bw"],
                                  lexical=index_for(products), lexical_weight=v.get("lw", 0.0),
                                  brands=seen_brands(summary), brand_weight=v.get("brw", 0.0))
            if v.get("sm"):
                if v.get("add"):
                    cands = with_session_candidates(rt.store, cands, cons, models[v["sm"]].score(list(c.viewed_ids)),
                                                    exclude_ids=list(c.viewed_ids), n=v["add"], types=types,
                                                    type_weight=v["tw"], brands=seen_brands(summary),
                                                    brand_weight=v.get("brw", 0.0))
                scores = models[v["sm"]].score(list(c.viewed_ids), [x.product_id for x in cands])
                cands = with_session_scores(cands, scores, v.get("sw", 1.0))
            found += any(x.product_id == target for x in cands)
            if "mpb" in v:
                cons = cons.model_copy(update={"max_per_brand": v["mpb"]})
            hits += target in [x.product_id for x in select(cands, cons).chosen][:10]
        print(json.dumps(v), "HR@10", hits / len(cases), "recall", found / len(cases),
              f"{time.perf_counter() - started:.1f}s", flush=True)
    rt.close()


if __name__ == "__main__":
    main()
