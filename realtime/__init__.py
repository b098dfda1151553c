"""spoken-digits edge runtime: numpy front end, TFLite classifier, segmenter, microphone.

Imports only numpy, soundfile, soxr, sounddevice and a TFLite interpreter
(``tflite_runtime``, ``ai_edge_litert`` or ``tensorflow.lite``). Never TensorFlow
(except as the last interpreter fallback), librosa, ``trainer`` or ``export``:
everything it knows about a model comes from the bundle files.
"""
