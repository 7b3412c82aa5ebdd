"""Query embedding on ONNX Runtime: the same MiniLM, about three times faster for one question.

The model is exported from the torch weights the `Embedder` already loaded (no download), at
first use, into `DATA_DIR/onnx/`, written atomically so concurrent workers never read half a
file. Before it is used, a loaded model must give the torch vectors for a few English and
Korean questions (cosine >= MIN_COSINE): the index was built with torch vectors and stays
valid only if the two agree. Anything that goes wrong (onnx missing, an export error, a
damaged file, vectors that differ) is logged and leaves the `Embedder` on torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

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

    def __init__(self, model_file: Path, tokenizer, max_tokens: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One question at a time: more threads than cores only contend on a busy machine.
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer
        self._max_tokens = max_tokens

    def encode(self, text: str) -> list[float]:
        encoded = self._tokenizer([text], truncation=True, max_length=self._max_tokens, return_tensors="np")
        feeds = {name: np.asarray(encoded[name], dtype=np.int64) for name in INPUTS}
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


def agrees(encoder: OnnxQueryEncoder, reference: Callable[[Sequence[str]], list[list[float]]],
           texts: Sequence[str] = CHECK_TEXTS) -> float:
    """The smallest cosine between the encoder's vectors and `reference`'s (both normalised)."""
    expected = np.asarray(reference(list(texts)))
    actual = np.asarray([encoder.encode(text) for text in texts])
    return float((expected * actual).sum(axis=1).min())


def load_onnx_query_encoder(sentence_model, model_dir: Path, cache_dir: Path,
                            reference: Callable[[Sequence[str]], list[list[float]]]) -> OnnxQueryEncoder | None:
    """The checked ONNX encoder for this model, exporting it first if needed; None means stay on torch."""
    target = cache_dir / f"all-MiniLM-L6-v2-{model_fingerprint(model_dir)}.onnx"
    tokenizer, max_tokens = sentence_model.tokenizer, int(sentence_model.max_seq_length)
    try:
        if target.is_file():
            try:
                encoder = OnnxQueryEncoder(target, tokenizer, max_tokens)
            except Exception as error:  # a damaged file: export it again
                log.warning("ONNX query model %s cannot be loaded (%s); exporting it again", target, error)
                export(sentence_model, target)
                encoder = OnnxQueryEncoder(target, tokenizer, max_tokens)
        else:
            log.info("exporting the query model to ONNX at %s (once)", target)
            export(sentence_model, target)
            encoder = OnnxQueryEncoder(target, tokenizer, max_tokens)
        cosine = agrees(encoder, reference)
    except Exception as error:
        log.warning("query embedding stays on torch: the ONNX model could not be made or loaded (%s)", error)
        return None
    if cosine < MIN_COSINE:
        log.warning("query embedding stays on torch: ONNX vectors differ from torch's (cosine %.6f < %s)",
                    cosine, MIN_COSINE)
        return None
    return encoder
