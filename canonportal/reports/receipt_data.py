"""What a payment's receipt lists, apart from any drawing (the twin of
:mod:`.statement_data`): the receipt page, the receipt PDF and mail, and the SPEI
instructions read their invoice lines here."""


def receipt_lines(payment):
    """``[(invoice key, currency, amount in MXN, amount in currency, rate)]`` of a payment."""
    return [(a.invoice_key, a.currency, a.amount_mxn, a.amount_currency, a.exchange_rate)
            for a in payment.allocations]


def is_partial(allocation):
    """Whether this payment left part of the invoice's balance unpaid."""
    before = allocation.balance_before
    return before is not None and allocation.amount_currency < before
