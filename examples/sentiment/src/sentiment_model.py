"""Shared pieces of the sentiment demo: tokenizer, features, safetensors I/O.

Standard library only. The model is a logistic regression over binary
bag-of-words features (unigrams and bigrams):

    p(positive | text) = sigmoid(bias + sum(weight[i] for each feature i present))

Weights are stored in the safetensors format
(https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
a JSON header, then the raw little-endian tensor bytes.
"""

import json
import math
import re
import struct
import sys
from array import array

TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SAFETENSORS_DTYPES = {"F32": ("f", 4)}


def tokenize(text):
    """Lower-case word tokens; apostrophes inside words are kept (director's)."""
    return TOKEN_RE.findall(text.lower())


def ngrams(text, max_n=2):
    """The set of unigrams and (for max_n >= 2) bigrams, bigrams joined by a space."""
    toks = tokenize(text)
    feats = set(toks)
    for n in range(2, max_n + 1):
        for i in range(len(toks) - n + 1):
            feats.add(" ".join(toks[i:i + n]))
    return feats


def featurize(text, vocab, max_n=2):
    """Sorted indices of the vocabulary features present in text."""
    return sorted(vocab[f] for f in ngrams(text, max_n) if f in vocab)


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _le_f32(values):
    a = array("f", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def save_safetensors(path, tensors, metadata=None):
    """Write {name: (shape, list_of_floats)} as F32 tensors.

    Tensors are laid out in name order with contiguous data_offsets; the JSON header
    is padded with spaces to a multiple of 8 bytes, as the reference implementation
    does. Metadata values must be strings.
    """
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        shape, values = tensors[name]
        count = 1
        for d in shape:
            count *= d
        if count != len(values):
            raise ValueError(f"tensor {name}: shape {shape} does not match {len(values)} values")
        data = _le_f32(values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Return ({name: (shape, list_of_floats)}, metadata) from a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (hlen,) = struct.unpack("<Q", raw[:8])
    if 8 + hlen > len(raw):
        raise ValueError(f"{path}: header length {hlen} exceeds file size")
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        code, size = SAFETENSORS_DTYPES[dtype]
        start, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        if end - start != count * size or end > len(data):
            raise ValueError(f"{path}: tensor {name} has inconsistent data_offsets")
        a = array(code)
        a.frombytes(data[start:end])
        if sys.byteorder != "little":
            a.byteswap()
        tensors[name] = (info["shape"], a.tolist())
    return tensors, metadata


def load_model(model_dir):
    """Load weights, bias and vocabulary from a model directory."""
    tensors, metadata = load_safetensors(model_dir / "sentiment.safetensors")
    with open(model_dir / "vocab.json", encoding="utf-8") as f:
        tok = json.load(f)
    weight = tensors["weight"][1]
    bias = tensors["bias"][1][0]
    vocab = tok["vocab"]
    if len(vocab) != len(weight):
        raise ValueError(f"vocab.json has {len(vocab)} entries but the weight tensor has {len(weight)}")
    return weight, bias, vocab, int(tok.get("max_ngram", 2)), metadata


def predict_proba(text, weight, bias, vocab, max_n=2):
    return sigmoid(bias + sum(weight[i] for i in featurize(text, vocab, max_n)))
