"""The `.ecp` language server (`ecrules lsp`, docs/editors.md).

`analysis` loads a document as `ecrules check` does, `symbols` finds the names written in it,
`features` answers hover, definition, completion and formatting as pure functions; only
`server` imports pygls (the optional `lsp` extra), so the rest is tested without it.
"""
