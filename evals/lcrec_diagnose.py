"""Where InteraRec loses the dev targets (issue 19, step 1): valid split, 100 users, seed 0, cached pages.
Run: .venv/bin/python -m evals.lcrec_diagnose (writes /tmp/lcrec-diagnose.json). Never reads test targets."""

import collections
import json
import statistics
from pathlib import Path

from agent.settings import Settings
from agent.wiring import build_runtime, start_shop
from catalog.store import SearchFilters
from evals.content import ContentRecommender
from evals.datasets import lcrec
from evals.lcrec_run import page_frames
from tools.recommend.candidates import SEEN_POOL, retrieve, retrieve_seen
from tools.recommend.constraints import constraints_from_summary, inferred_types, seen_brands, seen_queries
from tools.recommend.lexical import index_for
from tools.recommend.optimizer import select


def main() -> None:
    """Where the dev targets are lost (valid split, 100 users, seed 0)."""
    data = lcrec.load("/work/shared/data/sessions-amazon-scientific-2018")
    products, _ = lcrec.products(data)
    byid = {p.id: p for p in products}
    titles = {p.id: p.title for p in products}
    users = lcrec.sample_users(data, "valid", 100, 0)
    cases = lcrec.cases(data, "valid", users, titles, 5)
    s = Settings()
    tag = f"lcrec-{data.name}-{data.digest[:16]}"
    s = s.model_copy(
        update={
            "catalog_dir": s.data_dir / "eval-catalogs" / tag,
            "frames_dir": s.data_dir / "eval-pages" / tag,
            "retention_days": None,
        }
    )
    rt = build_runtime(s, products, None)
    pids = list(dict.fromkeys(st.text.removeprefix("/p/") for c in cases for st in c.persona.steps))
    with start_shop(rt) as shop:
        pages = page_frames(rt, pids, shop.url, lambda m: None)
    reader = rt.summariser
    content = ContentRecommender(products)
    content.fit(lcrec.train_sequences(data, "valid"))
    lexical = index_for(products)
    versus = collections.Counter()  # the content baseline's ranks beside InteraRec's pool
    kinds = collections.Counter()
    fixed = collections.Counter()
    rows = []
    readok = collections.Counter()
    for c in cases:
        tgt = next(iter(c.targets))
        tp = byid[tgt]
        frames = [f for st in c.persona.steps for f in pages[st.text.removeprefix("/p/")]]
        # reader check: per page, title/brand/category read
        for st in c.persona.steps:
            pid = st.text.removeprefix("/p/")
            p = byid[pid]
            fr = pages[pid]
            if not fr:
                readok["noframe"] += 1
                continue
            r = reader.summarise(fr)
            seen = r.products_seen[0] if r.products_seen else None
            readok["pages"] += 1
            if seen and seen.title.strip(". ").casefold()[:40] == p.title.strip(". ").casefold()[:40]:
                readok["title"] += 1
            if seen and p.brand and (seen.brand or "").casefold() == p.brand.casefold():
                readok["brand"] += 1
            if p.brand:
                readok["has_brand"] += 1
            ty = r.product_characteristics.types
            if ty and ty[0].value.casefold() in {x.casefold() for x in p.category_path}:
                readok["type_in_path"] += 1
            if ty and ty[0].value.casefold() == p.category_path[-1].casefold():
                readok["type_leaf"] += 1
        summ = reader.summarise(frames)
        cons = constraints_from_summary(summ, k=20)
        types = [e.value for e in summ.product_characteristics.types]
        tpath = {x.casefold() for x in tp.category_path}
        type_ok = (not cons.categories) or any(cc.casefold() in tpath for cc in cons.categories)
        hits = rt.store.search(cons.query, SearchFilters(exclude_ids=tuple(c.viewed_ids)), limit=4344)
        urank = next((i for i, h in enumerate(hits) if h.product.id == tgt), None)
        cands = retrieve(rt.store, cons, exclude_ids=list(c.viewed_ids))
        crank = next((i for i, x in enumerate(cands) if x.product_id == tgt), None)
        sel = select(cands, cons)
        chosen = [x.product_id for x in sel.chosen]
        srank = chosen.index(tgt) if tgt in chosen else None
        # after the fix: every seen title a query (recency-weighted), the type a soft term, a wider pool
        soft = constraints_from_summary(summ, k=20, category_policy="soft")
        seen = retrieve_seen(rt.store, soft, seen_queries(summ), exclude_ids=list(c.viewed_ids),
                             types=inferred_types(summ), lexical=lexical, brands=seen_brands(summ))
        by_utility = sorted(seen, key=lambda x: -x.utility)
        prank = next((i for i, x in enumerate(by_utility) if x.product_id == tgt), None)
        top = [x.product_id for x in select(seen, soft).chosen]
        if tgt in top[:10]:
            after = "hit@10"
        elif prank is None:
            after = f"outside the {SEEN_POOL} candidates"
        else:
            after = f"in candidates (utility rank {'<10' if prank < 10 else '10-49' if prank < 50 else '50+'}) " \
                    "but not optimiser top-10"
        fixed[after] += 1
        scores = content.scored(c, len(products))
        order = sorted(scores, key=lambda pid: -scores[pid])
        crank_content = order.index(tgt) if tgt in order else None
        in_pool = any(x.product_id == tgt for x in seen)
        versus["content top 10"] += crank_content is not None and crank_content < 10
        versus["content top 300"] += crank_content is not None and crank_content < 300
        versus["InteraRec pool (300)"] += in_pool
        versus["content top 10 and in the pool"] += crank_content is not None and crank_content < 10 and in_pool
        versus["content top 10 and InteraRec top 10"] += crank_content is not None and crank_content < 10 \
            and after == "hit@10"
        if srank is not None and srank < 10:
            kind = "hit@10"
        elif not type_ok:
            kind = "hard type filter excludes target"
        elif crank is None:
            kind = "outside the 60 candidates"
        elif srank is None or srank >= 10:
            kind = f"in candidates (rank {'<10' if crank < 10 else '10-59'}) but not optimiser top-10"
        kinds[kind] += 1
        rows.append(
            dict(
                user=c.case_id,
                query=cons.query,
                cat=cons.categories,
                types=types[:3],
                tpath=tp.category_path,
                urank=urank,
                crank=crank,
                srank=srank,
                kind=kind,
                brands=cons.preferred_brands[:3],
                tbrand=tp.brand,
                maxpb=cons.max_per_brand,
            )
        )
    Path("/tmp/lcrec-diagnose.json").write_text(json.dumps(rows, indent=1, default=str))
    print("before (strongest type, hard filter, 60 candidates):", kinds)
    print("after (seen titles by meaning and words, brands seen, soft type, wider pool):", fixed)
    print("content baseline beside the pool:", versus)
    print(readok)
    ur = [r["urank"] for r in rows if r["urank"] is not None]
    print(
        "unfiltered query rank of target: <10",
        sum(u < 10 for u in ur),
        "<60",
        sum(u < 60 for u in ur),
        "<200",
        sum(u < 200 for u in ur),
        "median",
        statistics.median(ur),
    )
    rt.close()


if __name__ == "__main__":
    main()
