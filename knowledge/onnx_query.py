"""Query embedding on ONNX Runtime: the same MiniLM, about three times faster for one question,
and without torch in the process.

The model is exported from the torch weights (no download), at first use, into `DATA_DIR/onnx/`,
written atomically so concurrent workers never read half a file, with torch's own vectors for a
few English and Korean questions beside it (`*.check.json`). Before the model is used it must
give those vectors (cosine >= MIN_COSINE): the index was built with torch vectors and stays
valid only if the two agree. Once both files exist, a worker that only answers questions loads
neither torch nor sentence-transformers: the tokenizer is the model's own `tokenizer.json` on
Hugging Face's `tokenizers`, which is what sentence-transformers' fast tokenizer runs. Anything
that goes wrong (onnx missing, an export error, a damaged file, vectors that differ) is logged
and leaves the `Embedder` on torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = (
    "How do I apply to work from home?",
    "What are the symptoms of COVID-19?",
    "재택근무 신청은 어떻게 하나요?",
    "연차 휴가는 며칠인가요?",
)


class OnnxQueryEncoder:
    """Tokeniser + transformer on onnxruntime + mean pooling + L2 norm: the sentence-transformers
    pipeline of all-MiniLM-L6-v2 (Transformer, Pooling(mean), Normalize), one text at a time."""

    def __init__(self, model_file: Path, model_dir: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        # One question at a time: more threads than cores only contend on a busy machine.
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Its pool's threads otherwise spin for a while after each question, waiting for the
        # next: on two cores they took the CPU from the rest of the turn (the channel's scope,
        # one Redis read, took 3.4 ms p50 right after the embedding instead of 0.07 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        # What sentence-transformers reads: its max_seq_length and do_lower_case, the fast tokenizer's file.
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._lowercase = bool(config.get("do_lower_case", False))
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(config["max_seq_length"]))
        self._tokenizer.no_padding()

    def encode(self, text: str) -> list[float]:
        encoded = self._tokenizer.encode(text.lower() if self._lowercase else text)
        feeds = {name: np.asarray([values], dtype=np.int64) for name, values in
                 zip(INPUTS, (encoded.ids, encoded.attention_mask, encoded.type_ids), strict=True)}
        hidden = self._session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(hidden.dtype)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        vector = pooled[0] / max(float(np.linalg.norm(pooled[0])), 1e-12)
        return vector.astype(np.float32).tolist()


def model_fingerprint(model_dir: Path) -> str:
    """Names and sizes of the model's files: a new model version gets a new export."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(model_dir)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def export(sentence_model, target: Path) -> None:
    """torch.onnx.export of the transformer (pooling stays in numpy), renamed into place."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, transformer) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    sample = sentence_model.tokenizer(["an example question"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's warnings are about shapes we make dynamic
            torch.onnx.export(LastHiddenState(sentence_model[0].auto_model).eval(),
                              tuple(sample[name] for name in INPUTS), temporary,
                              input_names=list(INPUTS), output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def agrees(encoder: OnnxQueryEncoder, expected: Sequence[Sequence[float]], texts: Sequence[str] = CHECK_TEXTS) -> float:
    """The smallest cosine between the encoder's vectors for `texts` and `expected` (both normalised)."""
    actual = np.asarray([encoder.encode(text) for text in texts])
    return float((np.asarray(expected) * actual).sum(axis=1).min())


def torch_vectors(check_file: Path, reference: Callable[[Sequence[str]], list[list[float]]]) -> list[list[float]]:
    """Torch's vectors for CHECK_TEXTS: kept beside the export, so that checking it needs no torch."""
    try:
        kept = json.loads(check_file.read_text())
        if kept.get("texts") == list(CHECK_TEXTS):
            return kept["vectors"]
    except (OSError, ValueError, AttributeError, KeyError):
        pass  # none yet, or unreadable: ask torch again
    vectors = reference(list(CHECK_TEXTS))
    handle, temporary = tempfile.mkstemp(prefix=f".{check_file.name}.", dir=check_file.parent)
    with os.fdopen(handle, "w") as out:
        json.dump({"texts": list(CHECK_TEXTS), "vectors": vectors}, out)
    os.replace(temporary, check_file)
    return vectors


def load_onnx_query_encoder(model_dir: Path, cache_dir: Path, sentence_model: Callable[[], Any],
                            reference: Callable[[Sequence[str]], list[list[float]]]) -> OnnxQueryEncoder | None:
    """The checked ONNX encoder for this model, exporting it first if needed; None means stay on torch.
    `sentence_model` loads the torch model and `reference` embeds on it: called only when the
    export or torch's vectors for the check are not there yet."""
    target = cache_dir / f"all-MiniLM-L6-v2-{model_fingerprint(model_dir)}.onnx"
    try:
        if target.is_file():
            try:
                encoder = OnnxQueryEncoder(target, model_dir)
            except Exception as error:  # a damaged file: export it again
                log.warning("ONNX query model %s cannot be loaded (%s); exporting it again", target, error)
                export(sentence_model(), target)
                encoder = OnnxQueryEncoder(target, model_dir)
        else:
            log.info("exporting the query model to ONNX at %s (once)", target)
            export(sentence_model(), target)
            encoder = OnnxQueryEncoder(target, model_dir)
        cosine = agrees(encoder, torch_vectors(target.with_suffix(".check.json"), reference))
    except Exception as error:
        log.warning("query embedding stays on torch: the ONNX model could not be made or loaded (%s)", error)
        return None
    if cosine < MIN_COSINE:
        log.warning("query embedding stays on torch: ONNX vectors differ from torch's (cosine %.6f < %s)",
                    cosine, MIN_COSINE)
        return None
    return encoder
