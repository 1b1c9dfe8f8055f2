"""ERP exchange: imports and exports.

Imports (:mod:`.imports` is the entry point; formats in docs/erp-files.md): ``files``
(input files, CSV tables), ``fields`` (one cell), ``cfdi`` (CFDI 4.0 XML), ``documents``
(PDF matching), ``job`` and ``report`` (one import's state and outcome), ``base`` and one
module per kind: ``customers``, ``invoices``, ``balances``, ``statements``, ``rates``.
Exports: :mod:`.exports`.
"""
