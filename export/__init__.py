"""spoken-digits export: Keras run -> quantized TFLite bundle (``.tflite`` + ``.json`` + ``.mel.npz``)."""
