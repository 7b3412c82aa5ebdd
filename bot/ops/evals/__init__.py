"""`bot eval ...`: measure the parts on public data (EVAL_DATA_DIR, by default ../shared/eval), print figures.

One module per evaluation: `guards` (and `guards_ko`, its Korean part), `retrieval`, `calibrate`,
`cache`, `answers` (the whole chain over cases; `compare` gates one prompt against another),
`gaps` (how the report groups unanswered questions), `tables` (answers from tables with scripted
SQL, and hostile SQL); `feedback` turns rated answers into cases and `data` reads the data.
What is tuned on that data, and how the figures stay honest: the thresholds (MIN_RELEVANCE,
FAQ_MATCH, PASSAGE_MARGIN, SEMANTIC_CACHE_MATCH) are chosen on the calibration half of the
COVID FAQ (split by FAQ row) and reported on the test half; MIN_RELEVANCE_KO and the dense
weight for Korean questions (knowledge/store.py) likewise on the halves of knowledge/eval; the injection signals in
`guards/injection.py` were written after reading the PurpleLlama set's misses, and the phone
context rules in `guards/phones.py` (house numbers, labels) after reading Presidio's false finds,
so those figures are optimistic. See the README for the last figures.
"""

from bot.ops.evals.data import SAMPLE_KB, covid_dataset

__all__ = ["SAMPLE_KB", "covid_dataset"]
