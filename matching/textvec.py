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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

if TYPE_CHECKING:  # matching.index imports this module
    from .index import CellTable

NGRAM_RANGE = (1, 3)  # characters per n-gram, inclusive; Chinese words are one to three characters
DOCS_PER_CHUNK = 16_384  # documents turned into n-grams at once (about 2.5M n-grams, 40 MB)
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
        # Known n-gram codes, sorted, and the column of each.
        self.vocabulary_codes = np.zeros(0, dtype=np.int64)
        self.vocabulary_columns = np.zeros(0, dtype=np.int64)
        self.idf = np.zeros(0, dtype=np.float32)
        self._n_docs = 0

    @property
    def n_features(self) -> int:
        return int(self.vocabulary_codes.size)

    def fit_transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        """Learn the vocabulary and idf from ``docs`` and return their TF-IDF rows.

        Documents go through in chunks so memory stays bounded; the vocabulary grows chunk by
        chunk, columns numbered in order of first appearance.
        """
        chunks = [_padded_codepoints(docs[i: i + DOCS_PER_CHUNK])
                  for i in range(0, len(docs), DOCS_PER_CHUNK)]
        present = np.zeros(0x110000 + 1, dtype=bool)
        for cps, _ in chunks:
            present[cps] = True
        present[_SPACE] = True  # every padded word has it; keeps empty corpora consistent
        self._char_ids = (np.cumsum(present, dtype=np.int64) * present).astype(np.int64)
        self._base = int(present.sum()) + 1
        self.vocabulary_codes = np.zeros(0, dtype=np.int64)
        self.vocabulary_columns = np.zeros(0, dtype=np.int64)
        blocks = []
        for cps, doc_len in chunks:
            doc_of, codes = self._ngram_codes(cps, doc_len)
            self._learn(np.unique(codes))
            blocks.append(self._count_matrix(doc_of, codes, doc_len.size))
        counts = _stack(blocks, self.n_features)
        df = np.bincount(counts.indices, minlength=self.n_features)
        self._n_docs = len(docs)
        self.idf = (np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0).astype(np.float32)
        return self._weighted(counts)

    def transform(self, docs: Sequence[str], *, count_unseen: bool = False) -> sparse.csr_matrix:
        """TF-IDF rows of ``docs`` over the fitted vocabulary.

        scikit-learn drops n-grams the vocabulary lacks before normalising, so a text sharing one
        common n-gram with the corpus and nothing else gets a unit vector on it, and a high cosine
        with anything holding it. With ``count_unseen`` the unseen n-grams still count in each
        row's norm, at the idf of an n-gram no document has: the cosine then says how much of the
        text the other side shares.
        """
        if self._char_ids is None:
            raise RuntimeError("CharNgramTfidf is not fitted")
        blocks, unseen = [], []
        for i in range(0, len(docs), DOCS_PER_CHUNK):
            cps, doc_len = _padded_codepoints(docs[i: i + DOCS_PER_CHUNK])
            doc_of, codes = self._ngram_codes(cps, doc_len)
            blocks.append(self._count_matrix(doc_of, codes, doc_len.size))
            if count_unseen:
                unseen.append(self._unseen_square_norms(cps, doc_len))
        extra = np.concatenate(unseen) if unseen else None
        return self._weighted(_stack(blocks, self.n_features), extra)

    def _unseen_square_norms(self, cps: np.ndarray, doc_len: np.ndarray) -> np.ndarray:
        """Per document, the squared TF-IDF norm of its n-grams outside the vocabulary."""
        doc_of, raw = _raw_ngram_codes(cps, doc_len, self.ngram_range)
        doc_of_known, codes = self._ngram_codes(cps, doc_len, keep_unknown=True)
        unseen = self._columns(codes) < 0
        doc_of, raw = doc_of[unseen], raw[unseen]
        out = np.zeros(doc_len.size, dtype=np.float64)
        if raw.size == 0:
            return out
        order = np.lexsort((raw, doc_of))
        doc_of, raw = doc_of[order], raw[order]
        starts = np.flatnonzero(np.r_[True, (doc_of[1:] != doc_of[:-1]) | (raw[1:] != raw[:-1])])
        counts = np.diff(np.append(starts, raw.size))
        idf_unseen = np.log(1.0 + self._n_docs) + 1.0  # smooth idf of document frequency 0
        np.add.at(out, doc_of[starts], (counts * idf_unseen) ** 2)
        return out

    def _learn(self, codes: np.ndarray) -> None:
        """Give columns to the sorted ``codes`` not yet in the vocabulary."""
        known = self._columns(codes) >= 0
        new = codes[~known]
        if new.size == 0:
            return
        start = self.n_features
        all_codes = np.concatenate([self.vocabulary_codes, new])
        all_cols = np.concatenate([self.vocabulary_columns,
                                   np.arange(start, start + new.size, dtype=np.int64)])
        order = np.argsort(all_codes, kind="stable")
        self.vocabulary_codes, self.vocabulary_columns = all_codes[order], all_cols[order]

    def _columns(self, codes: np.ndarray) -> np.ndarray:
        """The column of each code, -1 when it is not in the vocabulary."""
        if self.n_features == 0:
            return np.full(codes.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.vocabulary_codes, codes), self.n_features - 1)
        return np.where(self.vocabulary_codes[at] == codes, self.vocabulary_columns[at], -1)

    def _ngram_codes(self, cps: np.ndarray, doc_len: np.ndarray, *,
                     keep_unknown: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(document, code) of every n-gram that stays inside one padded word. Unseen
        characters drop the n-grams that hold them, or with ``keep_unknown`` give them code -1
        (in the order of :func:`_raw_ngram_codes`)."""
        assert self._char_ids is not None
        ids = self._char_ids[cps]
        doc_of_pos = np.repeat(np.arange(doc_len.size, dtype=np.int32), doc_len)
        is_space = cps == _SPACE
        # Each padded word is " word ": spaces alternate start, end, start, end... in every
        # document, so the even-numbered ones close a word.
        word_end = is_space & (np.cumsum(is_space, dtype=np.int32) % 2 == 0)
        word_of_pos = np.cumsum(word_end, dtype=np.int32) - word_end
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
                code = ids[: m].copy()
                known = code != _UNKNOWN_CHAR
                for k in range(1, n):
                    part = ids[k: k + m]
                    known &= part != _UNKNOWN_CHAR
                    code *= b
                    code += part
                code += offset
                if keep_unknown:
                    code[~known] = -1
                else:
                    valid &= known
                docs_out.append(doc_of_pos[: m][valid])
                codes_out.append(code[valid])
            offset += b ** n
        if not codes_out:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        return np.concatenate(docs_out), np.concatenate(codes_out)

    def _count_matrix(self, doc_of: np.ndarray, codes: np.ndarray, n_docs: int) -> sparse.csr_matrix:
        col = self._columns(codes)
        known = col >= 0
        counts = sparse.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (doc_of[known], col[known])),
            shape=(n_docs, max(self.n_features, 1)))
        counts.sum_duplicates()
        return counts

    def _weighted(self, counts: sparse.csr_matrix, extra_square_norms: np.ndarray | None = None
                  ) -> sparse.csr_matrix:
        counts.data *= self.idf[counts.indices]
        lengths = np.diff(counts.indptr)
        squares = np.zeros(counts.shape[0], dtype=np.float64)
        if counts.nnz:
            nonempty = lengths > 0
            squares[nonempty] = np.add.reduceat(counts.data.astype(np.float64) ** 2,
                                                counts.indptr[:-1][nonempty])
        if extra_square_norms is not None:
            squares += extra_square_norms
        norms = np.where(squares > 0, np.sqrt(squares), 1.0).astype(np.float32)
        counts.data /= np.repeat(norms, lengths)
        return counts


def _raw_ngram_codes(cps: np.ndarray, doc_len: np.ndarray,
                     ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document, code) of every n-gram inside one padded word, coded from the codepoints alone
    (21 bits a character), in the same order as :meth:`CharNgramTfidf._ngram_codes`."""
    doc_of_pos = np.repeat(np.arange(doc_len.size, dtype=np.int32), doc_len)
    is_space = cps == _SPACE
    word_end = is_space & (np.cumsum(is_space, dtype=np.int32) % 2 == 0)
    word_of_pos = np.cumsum(word_end, dtype=np.int32) - word_end
    chars = cps.astype(np.int64) + 1  # never 0, so n-grams of different n never share a code
    docs_out, codes_out = [], []
    lo, hi = ngram_range
    for n in range(lo, hi + 1):
        m = chars.size - n + 1
        if m <= 0:
            break
        valid = word_of_pos[: m] == word_of_pos[n - 1:]
        code = chars[: m].copy()
        for k in range(1, n):
            code <<= 21
            code |= chars[k: k + m]
        docs_out.append(doc_of_pos[: m][valid])
        codes_out.append(code[valid])
    if not codes_out:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    return np.concatenate(docs_out), np.concatenate(codes_out)


def _stack(blocks: list[sparse.csr_matrix], n_features: int) -> sparse.csr_matrix:
    """Row blocks counted while the vocabulary grew, as one matrix of the final width."""
    n_rows = sum(b.shape[0] for b in blocks)
    if not blocks or n_rows == 0:
        return sparse.csr_matrix((n_rows, n_features), dtype=np.float32)
    indptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for b in blocks:
        indptr.append(b.indptr[1:].astype(np.int64) + offset)
        offset += b.nnz
    return sparse.csr_matrix((np.concatenate([b.data for b in blocks]),
                              np.concatenate([b.indices for b in blocks]),
                              np.concatenate(indptr)), shape=(n_rows, n_features))


def _padded_codepoints(docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All documents as one array of codepoints, each word as " word "; and each document's length.

    Lowercases and splits on whitespace as scikit-learn does before ``char_wb``.
    """
    padded = [(" " + "  ".join(words) + " ") if (words := doc.lower().split()) else ""
              for doc in docs]
    doc_len = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    cps = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
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
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without the loop.

    int32 when every value fits (half the memory on a city's millions of pairs), else int64.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    top = int((starts + lengths).max(initial=0))
    dtype = np.int32 if max(total, top) < np.iinfo(np.int32).max else np.int64
    # Position k of the output is starts[r] + (k - first position of range r).
    out: npt.NDArray[np.signedinteger[Any]] = np.arange(total, dtype=dtype)
    out += np.repeat((starts - (ends - lengths)).astype(dtype), lengths)
    return out


@dataclass(frozen=True)
class CellBlocks:
    """The provider rows of every cell of a :class:`matching.index.CellTable`, in member order,
    each row's columns moved into its cell's block: cell ``c`` owns columns
    ``[(c % cells_per_chunk) * n_features, ... + n_features)`` of chunk ``c // cells_per_chunk``.
    Built once, a chunk's member matrix is then a slice, not a gather."""

    cell_ptr: np.ndarray  # cell -> first member row
    row_ptr: np.ndarray  # member row -> first entry
    indices: np.ndarray  # int32, shifted into the row's cell block
    data: np.ndarray
    row_shift: np.ndarray  # member row -> the shift added to its indices
    n_features: int
    cells_per_chunk: int

    @classmethod
    def of(cls, table: CellTable, rows: tuple[np.ndarray, np.ndarray, np.ndarray],
           n_features: int) -> CellBlocks:
        """Blocks of ``table``'s cells, whose members' rows (``indptr, indices, data``, one row per
        member in member order) are given."""
        n_features = max(n_features, 1)
        per_chunk = max(1, MAX_BLOCK_ROWS // n_features)
        n_cells = table.ptr.size - 1
        row_ptr, indices, data = rows
        cell_of_member = np.repeat(np.arange(n_cells, dtype=np.int64), np.diff(table.ptr))
        shift = ((cell_of_member % per_chunk) * n_features).astype(np.int32)
        indices = indices.astype(np.int32)
        indices += np.repeat(shift, np.diff(row_ptr))
        return cls(cell_ptr=table.ptr, row_ptr=row_ptr, indices=indices, data=data,
                   row_shift=shift.astype(np.int32), n_features=n_features, cells_per_chunk=per_chunk)

    def rows(self, member_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``indptr, indices, data`` of these member rows, with their own (unshifted) columns."""
        starts = self.row_ptr[member_rows]
        lengths = self.row_ptr[member_rows + 1] - starts
        indptr = np.zeros(member_rows.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        src = concat_ranges(starts, lengths)
        indices = self.indices[src].astype(np.int64) - np.repeat(self.row_shift[member_rows], lengths)
        return indptr, indices, self.data[src]

    @property
    def n_chunks(self) -> int:
        return -(-(self.cell_ptr.size - 1) // self.cells_per_chunk)

    def chunk(self, k: int) -> tuple[sparse.csr_matrix, int]:
        """Members of chunk ``k``'s cells as rows, and the member row the chunk starts at."""
        first_cell = k * self.cells_per_chunk
        stop_cell = min(first_cell + self.cells_per_chunk, self.cell_ptr.size - 1)
        r0, r1 = int(self.cell_ptr[first_cell]), int(self.cell_ptr[stop_cell])
        e0, e1 = int(self.row_ptr[r0]), int(self.row_ptr[r1])
        matrix = sparse.csr_matrix(
            (self.data[e0:e1], self.indices[e0:e1], self.row_ptr[r0: r1 + 1] - e0),
            shape=(r1 - r0, self.cells_per_chunk * self.n_features))
        return matrix, r0


def cell_pair_cosines(needs: sparse.csr_matrix, blocks: CellBlocks, visit_need: np.ndarray,
                      visit_cell: np.ndarray, visit_offset: np.ndarray, n_pairs: int) -> np.ndarray:
    """Cosine of every (need, member) pair of every visit, as one float32 array of ``n_pairs``.

    A visit ``v`` is need row ``visit_need[v]`` looking at cell ``visit_cell[v]`` of ``blocks``;
    the pairs of visit ``v`` sit at ``visit_offset[v] + i`` for the cell's ``i``-th member. Rows
    of both sides are L2-normalised, so the dot product is the cosine.
    """
    out = np.zeros(n_pairs, dtype=np.float32)
    if visit_need.size == 0:
        return out
    n_features, per_chunk = blocks.n_features, blocks.cells_per_chunk
    chunk_of = visit_cell // per_chunk
    order = np.argsort(chunk_of, kind="stable")
    bounds = np.searchsorted(chunk_of[order], np.arange(blocks.n_chunks + 1))
    for k in np.unique(chunk_of).tolist():
        visits = order[bounds[k]: bounds[k + 1]]
        members, first_row = blocks.chunk(k)
        local = visit_cell[visits] % per_chunk
        v_ptr, v_idx, v_val = gather_rows(needs, visit_need[visits])
        v_idx = v_idx.astype(np.int64) + np.repeat(local * n_features, np.diff(v_ptr))
        left = sparse.csr_matrix((v_val, v_idx, v_ptr), shape=(visits.size, members.shape[1]))
        product = (left @ members.T).tocoo()
        # Column = member row in the chunk; its pair slot is the visit's offset plus the
        # member's rank inside its cell.
        rows, cols = product.row, product.col
        cell_first = blocks.cell_ptr[visit_cell[visits[rows]]] - first_row
        out[visit_offset[visits[rows]] + cols - cell_first] = product.data
    return out
