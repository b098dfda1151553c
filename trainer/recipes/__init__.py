"""Training recipes: the seed protocol's four LSTMs (:mod:`.train`), the deployed open-set model
(:mod:`.deploy`), the seeds' 12-class Speech Commands task (:mod:`.commands`) and leave-one-speaker-out (:mod:`.loso`).
"""
