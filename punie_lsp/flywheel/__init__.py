"""The flywheel: Punie's own data for teaching and measuring models.

Ownership: this layer turns Punie's real runtime into training data and measurements, never a copy of
it. Its capture half records real turns as traces, curates them and exports datasets (`capture`,
`store`, `curate`, `export`, `punie data`). Its seed and evaluation half builds the seed dataset by
running Code Mode blocks in the sandbox against copies of the fixture projects, rendering every turn
with the one prompt/format module (`agent.prompt`, `models.chat_format`) so training text is serving
text (`seed`, written to `punie_lsp/data/seed/`), and scores models by running them through
`PunieSession` on held-out fixture tasks and checking their answers against real tool output
(`evaluate`). It does not convert, train or serve models, and changes nothing in the layers it uses.
"""
