"""Every callback hook receives a logs dict, never None (Keras 3; issue 15, item 5)."""
import numpy as np

import kerasette as keras


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")

            def hook(*args, **kwargs):
                logs = kwargs.get("logs", args[-1] if args else None)
                calls.append((name, logs if logs is None else dict(logs)))
            return hook
        return object.__getattribute__(self, name)


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    return model


def test_fit_hooks_get_dicts_and_train_end_gets_the_last_epoch_logs():
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    rec = Recorder()
    _model().fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[rec], validation_data=(x, y))
    assert all(isinstance(logs, dict) for _, logs in rec.calls), rec.calls
    by_name = {}
    for name, logs in rec.calls:
        by_name.setdefault(name, []).append(logs)
    assert by_name["on_train_begin"] == [{}]
    assert by_name["on_epoch_begin"] == [{}, {}]
    assert all(logs == {} for logs in by_name["on_train_batch_begin"])
    assert by_name["on_train_end"] == [by_name["on_epoch_end"][-1]]
    assert set(by_name["on_train_end"][0]) == {"loss", "mae", "val_loss", "val_mae"}


def test_evaluate_and_predict_hooks_get_dicts():
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    model = _model()
    rec = Recorder()
    model.evaluate(x, y, batch_size=2, verbose=0, callbacks=[rec])
    model.predict(x, batch_size=2, verbose=0, callbacks=[rec])
    names = [n for n, _ in rec.calls]
    for hook in ("on_test_begin", "on_test_batch_begin", "on_test_end", "on_predict_begin",
                 "on_predict_batch_begin", "on_predict_end"):
        assert hook in names
    assert all(isinstance(logs, dict) for _, logs in rec.calls), rec.calls
    assert dict(rec.calls)["on_test_begin"] == {} and dict(rec.calls)["on_predict_end"] == {}
    assert set(dict(rec.calls)["on_test_end"]) == {"loss", "mae"}
