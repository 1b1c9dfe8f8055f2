"""Reading a CSV someone else wrote: which delimiter its header line uses.

ERP exports and bank statements come with commas, semicolons (Excel in Spanish) or
tabs; the one home of that guess for the ERP imports and the SPEI statements.
"""


def sniff_delimiter(line):
    """Comma, semicolon or tab: whichever the header line uses most (outside quotes)."""
    counts = {',': 0, ';': 0, '\t': 0}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], d == ','))
    return best if counts[best] else ','
