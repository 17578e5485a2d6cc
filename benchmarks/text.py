"""Free text on datasets/changelogs.csv (709 Debian changelog entries, 6 packages): nntrain's text step and
embedding_bag against scikit-learn's TfidfVectorizer + MLPClassifier, on the same splits.

Three tables: rows/s of the tokeniser (the table repeated to 20x its rows, fit + transform); one training
epoch (64 hidden units, Adam, batch 32) and the first layer's forward + backward alone, padded
embedding_bag against the same product over a CSR matrix (np.add.reduceat) and a dense rows x vocabulary
matrix; and test accuracy over a few seeds, nntrain through its CLI with configs/changelogs.yaml.

    python benchmarks/text.py [--repeats 3] [--seeds 3]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import common
from common import alternate, machine, peer, print_table

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "datasets" / "changelogs.csv"
DIM, BATCH = 64, 32  # the hidden layer; the embedding is configs/changelogs.yaml's


def tokens(frame: pd.DataFrame):
    """The fitted text step and the token-id block of `frame`'s text column, as the pipeline makes them."""
    from nntrain.data.step import Context
    from nntrain.data.text import Text

    step, ctx = Text(columns=["text"]), Context(target=["package"], training=True)
    state = step.fit(frame, ctx)
    block = step.transform(frame[["text", "package"]], state, ctx).drop(columns="package").to_numpy(np.float32)
    return state["columns"]["text"], block


def tokenizer_speed(frame, repeats) -> list[tuple]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    big = pd.concat([frame] * 20, ignore_index=True)
    def ours():
        tokens(big)

    def tfidf():
        TfidfVectorizer(token_pattern=r"\w+", min_df=2).fit_transform(big["text"])

    times = alternate({"nntrain text step": ours, "TfidfVectorizer": tfidf}, repeats)
    return [("tokeniser", "rows/s"), *((name, f"{len(big) / seconds:,.0f}") for name, seconds in times.items())]


def first_layer(spec, block, repeats) -> dict[str, float]:
    """Forward + backward of the first layer (dim 64) over every row, three ways with the same product."""
    from nntrain.nn.embedding import EmbeddingBag

    rng = np.random.default_rng(0)
    bag = EmbeddingBag(DIM, tokens=[[0, block.shape[1], spec["size"]]])
    bag.build(block.shape[1:], rng, np.float32)
    upstream = rng.standard_normal((len(block), DIM)).astype(np.float32)
    rows, positions = np.nonzero(block >= 0)
    indices = block[rows, positions].astype(np.intp)
    counts = np.bincount(rows, minlength=len(block))
    indptr = np.concatenate([[0], np.cumsum(counts)])
    weights = (1 / np.maximum(counts, 1))[rows].astype(np.float32)
    dense = np.zeros((len(block), spec["size"]), np.float32)
    np.add.at(dense, (rows, indices), weights)
    E = bag.params["E"]

    def padded():
        bag.forward(block, True)
        bag.backward(upstream)

    def csr():
        gathered = E[indices] * weights[:, None]
        nonempty = counts > 0
        out = np.zeros((len(block), DIM), np.float32)
        out[nonempty] = np.add.reduceat(gathered, indptr[:-1][nonempty], axis=0)
        grad = np.zeros_like(E)  # summed by sorted id, as embedding_bag does
        order = np.argsort(indices, kind="stable")
        ids = indices[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        grad[ids[starts]] = np.add.reduceat((upstream[rows] * weights[:, None])[order], starts, axis=0)

    def matrix():
        dense @ E
        dense.T @ upstream

    return alternate({"embedding_bag (padded ids)": padded, "CSR x dense (reduceat)": csr,
                      "dense rows x vocabulary": matrix}, repeats)


def epoch_times(frame, spec, block, y, repeats) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neural_network import MLPClassifier

    specs = [{"type": "embedding_bag", "dim": DIM, "tokens": [[0, block.shape[1], spec["size"]]]},
             {"type": "dense", "units": DIM, "activation": "relu"}, {"type": "dense", "units": int(y.max()) + 1}]
    ours = common.nntrain_epoch(specs, block, y, BATCH)
    tfidf = TfidfVectorizer(token_pattern=r"\w+", min_df=2).fit_transform(frame["text"])
    mlp = MLPClassifier(hidden_layer_sizes=(DIM,), batch_size=BATCH, random_state=0)
    classes = np.unique(y)

    def sklearn_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.partial_fit(tfidf, y, classes=classes)

    return alternate({"nntrain (embedding_bag)": ours, "scikit-learn (TF-IDF, sparse)": sklearn_epoch}, repeats)


def accuracies(frame, seeds, overrides=()) -> list[tuple]:
    """Test accuracy of both on stratified 60/20/20 splits, both trained on the same training rows: nntrain
    picks its best epoch on the validation rows, as the example config does; scikit-learn uses its defaults
    (200 iterations)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neural_network import MLPClassifier

    scores = {"nntrain": [], "TF-IDF + MLPClassifier": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(frame))
        rank = pd.Series(order).groupby(frame["package"].to_numpy()[order]).cumcount().sort_index().to_numpy()
        part = np.select([rank % 5 == 0, rank % 5 == 1], ["test", "validation"], "train")
        with tempfile.TemporaryDirectory() as folder:
            files = {name: Path(folder) / f"{name}.csv" for name in ("train", "validation", "test")}
            for name, path in files.items():
                frame[part == name].to_csv(path, index=False)
            sets = [f"data.train={files['train']}", f"data.validation={files['validation']}",
                    f"data.test={files['test']}", "data.split={validation: 0, test: 0}", f"output.dir={folder}/run", f"seed={seed}", *overrides]
            command = [sys.executable, "-m", "nntrain", "fit", str(REPO / "configs/changelogs.yaml"), "-q"]
            subprocess.run(command + [a for s in sets for a in ("--set", s)], check=True, cwd=REPO)
            result = subprocess.run([sys.executable, "-m", "nntrain", "eval", f"{folder}/run", "--json"],
                                    check=True, capture_output=True, text=True, cwd=REPO)
            scores["nntrain"].append(json.loads(result.stdout)["metrics"]["accuracy"])
        fit_rows, test = frame[part == "train"], frame[part == "test"]
        vectorizer = TfidfVectorizer(token_pattern=r"\w+", min_df=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp = MLPClassifier(hidden_layer_sizes=(DIM,), random_state=seed).fit(
                vectorizer.fit_transform(fit_rows["text"]), fit_rows["package"])
        scores["TF-IDF + MLPClassifier"].append(mlp.score(vectorizer.transform(test["text"]), test["package"]))
    return [("model", "mean test accuracy", "per seed"),
            *((name, f"{np.mean(values):.3f}", " ".join(f"{v:.3f}" for v in values)) for name, values in scores.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if peer("sklearn") is None:
        return
    print(machine())
    frame = pd.read_csv(DATA)
    spec, block = tokens(frame)
    y = pd.factorize(frame["package"], sort=True)[0]
    print(f"{len(frame)} rows, vocabulary {len(spec['vocabulary']):,}, width {spec['width']}, "
          f"{spec['tokens_per_row']} tokens per row")
    print_table("text step", tokenizer_speed(frame, args.repeats))
    started = time.perf_counter()
    layer = first_layer(spec, block, args.repeats)
    print_table(f"first layer, forward + backward over {len(frame)} rows (dim {DIM})",
                [("layer", "ms"), *((name, f"{seconds * 1e3:.2f}") for name, seconds in layer.items())])
    epochs = epoch_times(frame, spec, block, y, args.repeats)
    print_table(f"training epoch ({len(frame)} rows, batch {BATCH})",
                [("model", "ms"), *((name, f"{seconds * 1e3:.1f}") for name, seconds in epochs.items())])
    print_table("accuracy", accuracies(frame, args.seeds))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
