"""Character n-gram TF-IDF, vectorised, and the cosine of chosen (need, provider) pairs.

:class:`CharNgramTfidf` gives the same matrix as scikit-learn's
``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), dtype=float32)`` (lowercase, smooth idf,
raw counts, L2 rows; columns are in another order, which no cosine sees). scikit-learn builds the
n-grams in a Python loop, about 17 s for 300,000 provider descriptions; here every n-gram is an
integer computed with numpy over the whole corpus at once, so fitting a city's providers is a few
seconds.

:func:`cell_pair_cosines` computes only the cosines the matcher needs: a need against the members of
the provider cells it visits (its grid's and its neighbours'). Cosines of all pairs would be a dense
matrix of needs x providers; computing them pair by pair in numpy is slow. Instead each cell gets a
block of its own: the need's n-grams and the members' n-grams are shifted into that block's
column range, so a single sparse product per chunk of cells multiplies a need only with the
members of the cells it visits.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

NGRAM_RANGE = (1, 3)  # characters per n-gram, inclusive; Chinese words are one to three characters
# Rows (cells x vocabulary) of the block matrix one sparse product may span. Its index array costs
# 8 bytes a row, so this is about 32 MB, while a product over few cells stays cheap.
MAX_BLOCK_ROWS = 1 << 22

_UNKNOWN_CHAR = 0  # character id of anything not seen when fitting
_SPACE = ord(" ")


class CharNgramTfidf:
    """TF-IDF over character n-grams padded at word boundaries (scikit-learn's ``char_wb``)."""

    def __init__(self, ngram_range: tuple[int, int] = NGRAM_RANGE) -> None:
        lo, hi = ngram_range
        if not 1 <= lo <= hi <= 3:
            raise ValueError("ngram_range must lie within (1, 3): codes hold up to three characters")
        self.ngram_range = (lo, hi)
        self._char_ids: np.ndarray | None = None  # codepoint -> dense id, 0 unknown
        self._base = 0
        self.vocabulary_codes = np.zeros(0, dtype=np.int64)  # sorted n-gram codes, one per column
        self.idf = np.zeros(0, dtype=np.float32)

    @property
    def n_features(self) -> int:
        return int(self.vocabulary_codes.size)

    def fit_transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        cps, doc_len = _padded_codepoints(docs)
        present = np.zeros(0x110000 + 1, dtype=bool)
        present[cps] = True
        present[_SPACE] = True  # every padded word has it; keeps empty corpora consistent
        self._char_ids = np.cumsum(present, dtype=np.int64) * present  # 1-based, 0 = unknown
        self._base = int(present.sum()) + 1
        doc_of, codes = self._ngram_codes(cps, doc_len)
        self.vocabulary_codes = np.unique(codes)
        counts = self._count_matrix(doc_of, codes, len(docs))
        df = np.bincount(counts.indices, minlength=self.n_features)
        n_docs = len(docs)
        self.idf = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        return self._weighted(counts)

    def transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        if self._char_ids is None:
            raise RuntimeError("CharNgramTfidf is not fitted")
        cps, doc_len = _padded_codepoints(docs)
        doc_of, codes = self._ngram_codes(cps, doc_len)
        return self._weighted(self._count_matrix(doc_of, codes, len(docs)))

    def _ngram_codes(self, cps: np.ndarray, doc_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(document, code) of every n-gram that stays inside one padded word; unseen
        characters drop the n-grams that hold them."""
        assert self._char_ids is not None
        ids = self._char_ids[cps]
        doc_of_pos = np.repeat(np.arange(doc_len.size, dtype=np.int64), doc_len)
        is_space = cps == _SPACE
        # Each padded word is " word ": spaces alternate start, end, start, end... in every
        # document, so the even-numbered ones close a word.
        word_end = is_space & (np.cumsum(is_space) % 2 == 0)
        word_of_pos = np.cumsum(word_end) - word_end
        b = self._base
        offset = 0
        docs_out, codes_out = [], []
        lo, hi = self.ngram_range
        for n in range(1, hi + 1):
            m = ids.size - n + 1
            if m <= 0:
                break
            if n >= lo:
                valid = word_of_pos[: m] == word_of_pos[n - 1:]
                code = np.zeros(m, dtype=np.int64)
                for k in range(n):
                    part = ids[k: k + m]
                    valid &= part != _UNKNOWN_CHAR
                    code = code * b + part
                docs_out.append(doc_of_pos[: m][valid])
                codes_out.append(code[valid] + offset)
            offset += b ** n
        if not codes_out:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(docs_out), np.concatenate(codes_out)

    def _count_matrix(self, doc_of: np.ndarray, codes: np.ndarray, n_docs: int) -> sparse.csr_matrix:
        col = np.searchsorted(self.vocabulary_codes, codes)
        col = np.minimum(col, max(self.n_features - 1, 0))
        known = (self.vocabulary_codes[col] == codes) if self.n_features else np.zeros(codes.size, bool)
        counts = sparse.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (doc_of[known], col[known])),
            shape=(n_docs, self.n_features))
        counts.sum_duplicates()
        return counts

    def _weighted(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        counts.data *= self.idf[counts.indices]
        norms = np.sqrt(np.add.reduceat(counts.data ** 2, counts.indptr[:-1])
                        if counts.nnz else np.zeros(counts.shape[0], np.float32))
        lengths = np.diff(counts.indptr)
        norms = np.where(lengths > 0, norms, 1.0).astype(np.float32)
        counts.data /= np.repeat(norms, lengths)
        return counts


def _padded_codepoints(docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All documents as one array of codepoints, each word as " word "; and each document's length.

    Lowercases and splits on whitespace as scikit-learn does before ``char_wb``.
    """
    padded = [(" " + "  ".join(words) + " ") if (words := doc.lower().split()) else ""
              for doc in docs]
    doc_len = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    cps = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    return cps, doc_len


def gather_rows(matrix: sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """indptr, indices and data of ``matrix[rows]``, without scipy's slower fancy indexing."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    indptr = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    src = concat_ranges(starts, lengths)
    return indptr, matrix.indices[src], matrix.data[src]


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without the loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    # Position k of the output is starts[r] + (k - first position of range r).
    return np.arange(total, dtype=np.int64) + np.repeat(np.asarray(starts, np.int64) - (ends - lengths), lengths)


def cell_pair_cosines(needs: sparse.csr_matrix, providers: sparse.csr_matrix,
                      visit_need: np.ndarray, visit_cell: np.ndarray,
                      cell_ptr: np.ndarray, cell_members: np.ndarray,
                      visit_offset: np.ndarray, n_pairs: int) -> np.ndarray:
    """Cosine of every (need, member) pair of every visit, as one float32 array of ``n_pairs``.

    A visit ``v`` is need row ``visit_need[v]`` looking at cell ``visit_cell[v]``, whose members are
    ``cell_members[cell_ptr[c]:cell_ptr[c + 1]]`` (rows of ``providers``). The pairs of visit ``v``
    sit at ``visit_offset[v] + i`` for its ``i``-th member. Rows of both matrices are L2-normalised,
    so the dot product is the cosine.
    """
    out = np.zeros(n_pairs, dtype=np.float32)
    if visit_need.size == 0:
        return out
    n_features = max(needs.shape[1], 1)
    cells = np.unique(visit_cell)
    cells_per_chunk = max(1, MAX_BLOCK_ROWS // n_features)
    order = np.argsort(visit_cell, kind="stable")
    sorted_cells = visit_cell[order]
    for start in range(0, cells.size, cells_per_chunk):
        chunk = cells[start: start + cells_per_chunk]
        lo = np.searchsorted(sorted_cells, chunk[0], side="left")
        hi = np.searchsorted(sorted_cells, chunk[-1], side="right")
        visits = order[lo:hi]
        _chunk_cosines(needs, providers, chunk, visits, visit_need, visit_cell,
                       cell_ptr, cell_members, visit_offset, n_features, out)
    return out


def _chunk_cosines(needs, providers, chunk, visits, visit_need, visit_cell,
                   cell_ptr, cell_members, visit_offset, n_features, out) -> None:
    sizes = cell_ptr[chunk + 1] - cell_ptr[chunk]
    member_start = np.zeros(chunk.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=member_start[1:])
    member_rows = cell_members[concat_ranges(cell_ptr[chunk], sizes)]
    member_local_cell = np.repeat(np.arange(chunk.size, dtype=np.int64), sizes)
    # Members: their n-grams moved into their cell's block of columns.
    m_ptr, m_idx, m_val = gather_rows(providers, member_rows)
    m_idx = m_idx.astype(np.int64) + np.repeat(member_local_cell * n_features, np.diff(m_ptr))
    n_cols = chunk.size * n_features
    members = sparse.csr_matrix((m_val, m_idx, m_ptr), shape=(member_rows.size, n_cols))
    # Visits: the need's n-grams moved into the visited cell's block.
    visit_local = np.searchsorted(chunk, visit_cell[visits])
    v_ptr, v_idx, v_val = gather_rows(needs, visit_need[visits])
    v_idx = v_idx.astype(np.int64) + np.repeat(visit_local * n_features, np.diff(v_ptr))
    left = sparse.csr_matrix((v_val, v_idx, v_ptr), shape=(visits.size, n_cols))
    product = (left @ members.T).tocoo()
    # Column = member position in the chunk; its pair slot is the visit's offset plus the
    # member's rank inside its cell.
    rows, cols = product.row, product.col
    rank = cols - member_start[visit_local[rows]]
    out[visit_offset[visits[rows]] + rank] = product.data
