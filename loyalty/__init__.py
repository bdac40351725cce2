"""The points and stored-value ledgers: earning, redeeming, expiry, top-ups and bonus."""
