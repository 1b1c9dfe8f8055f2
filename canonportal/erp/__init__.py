"""ERP exchange: imports and exports."""
