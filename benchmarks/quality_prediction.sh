#!/usr/bin/env bash
# The prediction step alone, rerun from a benchmarks/quality.py run's intermediate student, then scored on
# dev like the recipe's eval (docs/quality.md, "IFLYTEK: passes, ..."). Prints one line: task, name, dev
# accuracy, training seconds, the teacher-logit cache and the unlabelled rows.
#   benchmarks/quality_prediction.sh RUN TASK OUT EPOCHS DATA [tinyzh distill options...]
#   benchmarks/quality_prediction.sh /work/runs/e5-ifly-lr2 iflytek /tmp/p 4 /work/runs/e5-ifly-lr2/iflytek/augment/train.json \
#       --lr 1e-3 --hard-label-weight 1.0
set -euo pipefail
if [ $# -lt 5 ]; then sed -n 2,7p "$0" >&2; exit 2; fi
RUN=$1 TASK=$2 OUT=$3 EPOCHS=$4 DATA=$5
shift 5
tinyzh distill --stage task --step prediction --data "$DATA" --task "$TASK" \
    --teacher "$RUN/$TASK/finetune/teacher/models/$TASK" --student "$RUN/$TASK/student/intermediate" \
    --max-seq-len 64 --epochs "$EPOCHS" --batch-size 32 --seed 0 --no-progress --output "$OUT" "$@"
tinyzh eval -m student="$OUT" --tasks "$TASK" --data-dir "$RUN/data" --no-train --max-seq-len 64 -o "$OUT-eval" \
    --seed 0 > "$OUT-eval.log"
python - "$OUT" "$TASK" <<'PY'
import json, sys
out, task = sys.argv[1:]
score = json.load(open(f"{out}-eval/student/pairs/{task}.json"))["dev_score"]
summary = json.load(open(f"{out}/distill_summary.json"))
print(task, out, f"dev {score:.4f}", f"train {summary['seconds']:.0f} s", "teacher logits", summary["teacher_logits_cache"],
      "unlabelled rows", summary["unlabelled_rows"])
PY
