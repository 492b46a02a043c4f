#!/usr/bin/env python3
"""Print clipzeroshot's bus messages: live labels and query events.

    GST_PLUGIN_PATH=build/gst python3 examples/apps/clipzeroshot_messages.py \
        --model ViT-B-32.pt --labels "a person;a cat;an empty room" \
        [--query "a person on a bicycle"] [--source "v4l2src"] [--vocab bpe_simple_vocab_16e6.txt.gz]

Needs PyGObject with GStreamer (Debian: python3-gi, gir1.2-gstreamer-1.0) and,
for the arrays, gst-python's overrides (python3-gst-1.0). Not run by the tests.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def build_pipeline(args):
    # Properties set on the element, not spliced into the launch line: labels may hold quotes.
    pipeline = Gst.parse_launch(f"{args.source} ! videoconvert ! clipzeroshot name=zeroshot ! fakesink")
    zeroshot = pipeline.get_by_name("zeroshot")
    zeroshot.set_property("model", args.model)
    zeroshot.set_property("labels", args.labels)
    if args.vocab:
        zeroshot.set_property("vocab", args.vocab)
    if args.query:
        zeroshot.set_property("query", args.query)
        zeroshot.set_property("query-threshold", args.query_threshold)
    return pipeline


def seconds(structure, field="timestamp"):
    value = structure.get_value(field)
    return value / Gst.SECOND if value is not None and value != Gst.CLOCK_TIME_NONE else float("nan")


def on_element(_bus, message):
    s = message.get_structure()
    if s.get_name() == "clipzeroshot":
        top = ", ".join(f"{label} {score:.2f}" for label, score in zip(s.get_value("labels"), s.get_value("scores")))
        flag = " (unknown)" if s.get_value("unknown") else ""
        print(f"{seconds(s):9.3f}s  {s.get_value('label')} {s.get_value('score'):.2f}{flag}  [{top}]")
    elif s.get_name() == "clipzeroshot-query":
        print(f"{seconds(s):9.3f}s  query {s.get_value('event')}: \"{s.get_value('query')}\" "
              f"score {s.get_value('score'):.3f}")


def on_end(_bus, message, loop, failed):
    if message.type == Gst.MessageType.ERROR:
        error, debug = message.parse_error()
        print(f"error: {error.message}\n{debug}", file=sys.stderr)
        failed.append(error.message)
    loop.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="CLIP weights (ViT-B-32.pt)")
    parser.add_argument("--labels", required=True, help='labels separated by ";"')
    parser.add_argument("--vocab", help="bpe_simple_vocab_16e6.txt.gz (default: searched)")
    parser.add_argument("--query", help="event mode: a text to watch for")
    parser.add_argument("--query-threshold", type=float, default=0.25, help="cosine similarity that starts an event")
    parser.add_argument("--source", default="v4l2src", help="source part of the pipeline (e.g. 'videotestsrc')")
    args = parser.parse_args()

    Gst.init(None)
    pipeline = build_pipeline(args)
    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message::element", on_element)
    failed = []
    bus.connect("message::error", on_end, loop, failed)
    bus.connect("message::eos", on_end, loop, failed)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.set_state(Gst.State.NULL)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
