"""The stores: one interface (:mod:`.base`), a factory (:mod:`.factory`), one package per backend."""
