"""EIDR identity resolution: match provider assets to EIDR registry records, review queue, overrides, evaluation."""
