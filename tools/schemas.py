"""The typed values that flow through InteraRec, one name per concept:
Frame -> BehaviorSummary -> Constraints -> Candidate -> Recommendation.

The same models serve the offline screen reader, an MLLM, the chat model and the evals, so a backend can be
swapped without touching the rest. Screenshots travel as ids and paths, never as bytes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frame(BaseModel):
    """One viewport screenshot stored on disk (content-addressed) with its metadata row."""

    model_config = ConfigDict(frozen=True)

    frame_id: str = Field(description="'<session id>:<sequence>'")
    session_id: str
    sequence: int
    path: str
    sha256: str
    captured_at: float
    url: str = ""
    title: str = ""
    width: int = 0
    height: int = 0
    scroll_y: int = 0
    reason: str = Field(default="", description="why it was taken: navigation, scroll, interval")
    duplicate_of: str | None = None
    phash: str = Field(default="", description="perceptual hash (dHash, 256 bits, hex)")


class Session(BaseModel):
    """A browsing session: its frames live in the frame store."""

    session_id: str
    created_at: float
    source: str = Field(description="persona:NAME, script:PATH, cdp:URL or import:DIR")
    status: str = Field(description="running, complete or interrupted")
    ended_at: float | None = None
    note: str = ""
    frames: int = 0
    kept: int = 0
    duplicates: int = 0


class Evidence(BaseModel):
    """One value of a preference keyword, with the screenshots it was read from."""

    value: str
    frame_ids: list[str] = Field(default_factory=list)
    confidence: float = Field(default=0.5, ge=0, le=1)
    count: int = Field(default=1, ge=1, description="how many times it was seen")
    sources: list[str] = Field(default_factory=list,
                               description="what gave it: text-layer (the page's own text), ocr, markup")


class PriceRange(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    lowest: float | None = Field(default=None, ge=0)
    highest: float | None = Field(default=None, ge=0)
    currency: str = "INR"
    frame_ids: list[str] = Field(default_factory=list)
    confidence: float = Field(default=0.0, ge=0, le=1)


class ProductCharacteristics(BaseModel):
    types: list[Evidence] = Field(default_factory=list, description="product type / category, strongest first")
    styles: list[Evidence] = Field(default_factory=list)
    colours: list[Evidence] = Field(default_factory=list)


class SeenProduct(BaseModel):
    """A product as read off a screen (not looked up in the catalog)."""

    model_config = ConfigDict(allow_inf_nan=False)

    title: str
    brand: str | None = None
    price: float | None = Field(default=None, ge=0)
    list_price: float | None = Field(default=None, ge=0)
    rating: float | None = Field(default=None, ge=0, le=5)
    category: str | None = None
    frame_id: str
    currency: str | None = None
    sources: dict[str, str] = Field(default_factory=dict, description="field -> text-layer, ocr or markup")


class BehaviorSummary(BaseModel):
    """The shopper's preferences along InteraRec's predefined keywords."""

    product_characteristics: ProductCharacteristics = Field(default_factory=ProductCharacteristics)
    price_range: PriceRange = Field(default_factory=PriceRange)
    brand_preferences: list[Evidence] = Field(default_factory=list)
    specifications: list[Evidence] = Field(default_factory=list)
    reviews: list[Evidence] = Field(default_factory=list, description="ratings and reviews the shopper looked at")
    comparisons: list[Evidence] = Field(default_factory=list, description="products viewed in alternation")
    promotions: list[Evidence] = Field(default_factory=list)
    search_queries: list[Evidence] = Field(default_factory=list)
    products_seen: list[SeenProduct] = Field(default_factory=list)
    frames_read: int = 0
    summariser: str = Field(description="which backend wrote this summary")


ObjectiveMode = Literal["relevance", "revenue", "mixed"]
SelectionMode = Literal["ranking", "assortment"]


class Constraints(BaseModel):
    """What the optimiser must respect (hard) and prefer (soft). Built from a summary, refined in chat."""

    model_config = ConfigDict(allow_inf_nan=False)

    k: int = Field(default=5, ge=1, le=50)
    query: str = Field(default="", description="semantic query for candidate retrieval")
    categories: list[str] = Field(default_factory=list, description="hard: product in any of these")
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    include_brands: list[str] = Field(default_factory=list, description="hard: only these brands")
    exclude_brands: list[str] = Field(default_factory=list)
    min_rating: float | None = Field(default=None, ge=0, le=5)
    max_per_brand: int | None = Field(default=None, ge=1)
    must_include: list[str] = Field(default_factory=list, description="product ids")
    must_exclude: list[str] = Field(default_factory=list, description="product ids")
    preferred_brands: list[str] = Field(default_factory=list, description="soft: raise utility")
    preferred_colours: list[str] = Field(default_factory=list, description="soft: raise utility")
    exclude_colours: list[str] = Field(default_factory=list, description="hard: none of these colours")
    objective: ObjectiveMode = "relevance"
    revenue_weight: float = Field(default=0.5, ge=0, le=1, description="'mixed' objective: weight of price")
    selection: SelectionMode = "ranking"
    provenance: dict[str, list[str]] = Field(
        default_factory=dict, description="constraint name -> frame ids it was derived from"
    )
    notes: list[str] = Field(default_factory=list, description="what of the summary was not used, and why")


class Candidate(BaseModel):
    """A catalog product that passed retrieval, with the utility the MNL model gives it."""

    product_id: str
    title: str
    brand: str | None
    price: float | None
    currency: str
    category_path: list[str]
    rating: float | None
    colour: str | None = None
    similarity: float
    utility: float = Field(description="MNL attraction v_i = exp(u_i)")
    value: float = Field(description="per-item value r_i under the objective mode")
    matches: dict[str, list[str]] = Field(
        default_factory=dict, description="matched preference -> frame ids it came from"
    )


class Recommendation(BaseModel):
    rank: int
    product_id: str
    title: str
    brand: str | None
    price: float | None
    currency: str
    score: float = Field(description="MNL choice probability of this product within the shown set")
    reasons: list[str]


class Relaxation(BaseModel):
    """Why fewer than K products satisfy every hard constraint, and the smallest change that yields K."""

    feasible: int = Field(description="candidates that satisfy every hard constraint")
    conflicts: list[str] = Field(description="names of the constraints that exclude the missing products")
    changes: dict[str, object] = Field(description="constraint name -> relaxed value (None: dropped)")
    message: str


class OptimizerReport(BaseModel):
    status: str
    objective_value: float
    solve_seconds: float
    mode: str
    candidates: int
    no_choice_weight: float
    relaxation: Relaxation | None = None
