"""Data: corpora, splits, synthetic voices, negatives, augmentation and the log-mel front end.

* :mod:`.fsdd`: FSDD recordings (file names, speakers, the official split), loading, padding and masking to 0.8 s;
* :mod:`.download`: FSDD v1.0.10 fetched and checked against the shipped SHA-256 manifest;
* :mod:`.corpus`: the deploy protocol's corpus table (FSDD, Speech Commands digits and words, noise, synthetic voices,
  ``--folder`` sets) with speaker-disjoint splits and licences;
* :mod:`.synth`: ``spoken-digits data synth`` (espeak-ng, flite, festival voices; held-out voices);
* :mod:`.negatives`: ``_silence_`` and ``_unknown_`` material (noise, words, fragments of running speech);
* :mod:`.augment`: the deploy protocol's augmentation (noise, babble, room, EQ, speed, pitch);
* :mod:`.dataset`: cached feature arrays of the seed protocol (time-stretch x pitch-shift);
* :mod:`.features`: the librosa log-mel reference of the front end;
* :mod:`.strings`: digit strings (transcripts, strings assembled from isolated clips) for the digit-string model.
"""
