"""Training recipes: the seed protocol's four LSTMs (:mod:`.train`), the deployed open-set model
(:mod:`.deploy`), the seeds' 12-class Speech Commands task (:mod:`.commands`), leave-one-speaker-out (:mod:`.loso`)
and the experimental digit-string model trained with CTC (:mod:`.strings`).
"""
