# The CI smoke tests of ucf51_train (ctest example.ucf51_train.smoke and, in CUDA builds,
# example.ucf51_train.smoke_cuda):
#   cmake -DPROGRAM=path/to/ucf51_train -DDIR=scratch [-DBACKEND=cpu|cuda] -P smoke.cmake
# 1. trains every cell (baseline, CCL-A, CCL-I, CCL-AI) for one epoch on a tiny synthetic layout;
# 2. reruns with --epochs 2, which must resume each cell from its last.ckpt;
# 3. checks that the outputs exist and that every number in them is finite.
# With BACKEND=cuda it first trains the same epoch on the CPU and requires the GPU's first-epoch
# losses to match (same seed: same initial weights, same batches); without a usable device it
# prints "ucf51_train smoke: skipped" (ctest: Skipped).

if(NOT PROGRAM OR NOT DIR)
  message(FATAL_ERROR "usage: cmake -DPROGRAM=ucf51_train -DDIR=scratch [-DBACKEND=cuda] -P smoke.cmake")
endif()
if(NOT BACKEND)
  set(BACKEND cpu)
endif()
file(REMOVE_RECURSE "${DIR}")
set(common --synthetic "${DIR}" --student narrow --feature-dim 64 --frames 4 --size 16
           --batch-size 4 --eval-batch 8 --milestones 1 --threads 2 --progress lines
           --test-model both)

if(BACKEND STREQUAL "cuda")
  execute_process(COMMAND "${PROGRAM}" --cuda-check RESULT_VARIABLE status OUTPUT_VARIABLE out)
  message("${out}")
  if(NOT status EQUAL 0)
    message("ucf51_train smoke: skipped (no usable CUDA device)")
    return()
  endif()
  execute_process(COMMAND "${PROGRAM}" ${common} --backend cpu --out "${DIR}/cpu" --epochs 1
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ucf51_train --backend cpu (the reference) failed (exit status ${status})")
  endif()
endif()

foreach(epochs 1 2)
  execute_process(COMMAND "${PROGRAM}" ${common} --backend ${BACKEND} --out "${DIR}/run"
                          --epochs ${epochs}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ucf51_train --epochs ${epochs} failed (exit status ${status})")
  endif()
endforeach()
string(REGEX MATCHALL "resumed from [^\n]*after epoch 1 of 2" resumed "${err}")
list(LENGTH resumed resumed_count)
if(NOT resumed_count EQUAL 4)
  message(FATAL_ERROR "expected 4 cells resumed after epoch 1, found ${resumed_count}")
endif()

# A finite number: JSON has no NaN/Inf (nlohmann writes null), the log writer would write `nan`,
# which makes the line unreadable and the epoch count below wrong.
function(require_number json what)
  string(JSON type ERROR_VARIABLE problem TYPE "${json}" ${ARGN})
  if(problem OR NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${what}: expected a finite number, got ${type} ${problem}")
  endif()
endfunction()

foreach(file table1.md ucf51_train.json)
  if(NOT EXISTS "${DIR}/run/${file}")
    message(FATAL_ERROR "missing output ${DIR}/run/${file}")
  endif()
endforeach()
file(READ "${DIR}/run/ucf51_train.json" record)
string(JSON cells LENGTH "${record}" cells)
if(NOT cells EQUAL 4)
  message(FATAL_ERROR "expected 4 cells in ucf51_train.json, found ${cells}")
endif()
math(EXPR last "${cells} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${record}" cells ${i} method)
  string(JSON teachers GET "${record}" cells ${i} teachers)
  set(what "cell ${name}/${teachers}")
  foreach(key test_top1 test_top1_best_epoch test_top1_last_epoch best_val_top1 seconds)
    require_number("${record}" "${what} ${key}" cells ${i} ${key})
  endforeach()
  string(JSON top1 GET "${record}" cells ${i} test_top1)
  if(top1 LESS 0 OR top1 GREATER 1)
    message(FATAL_ERROR "${what}: test top-1 ${top1} is not in [0, 1]")
  endif()
  string(JSON videos GET "${record}" cells ${i} test_videos)
  if(NOT videos EQUAL 3)
    message(FATAL_ERROR "${what}: tested ${videos} videos, the layout has 3 test videos")
  endif()
  string(JSON epochs LENGTH "${record}" cells ${i} log)
  if(NOT epochs EQUAL 2)
    message(FATAL_ERROR "${what}: the log has ${epochs} epochs, expected 2")
  endif()
  foreach(e 0 1)
    foreach(key loss train_top1 val_top1 val_loss lr seconds data_wait_seconds)
      require_number("${record}" "${what} epoch ${e} ${key}" cells ${i} log ${e} ${key})
    endforeach()
  endforeach()
endforeach()
if(BACKEND STREQUAL "cuda")  # the first epoch on the GPU against the CPU's
  file(READ "${DIR}/cpu/ucf51_train.json" reference)
  foreach(i RANGE ${last})
    string(JSON name GET "${record}" cells ${i} method)
    string(JSON teachers GET "${record}" cells ${i} teachers)
    string(JSON gpu_loss GET "${record}" cells ${i} log 0 loss)
    string(JSON cpu_loss GET "${reference}" cells ${i} log 0 loss)
    message("${name}/${teachers}: first-epoch loss cpu ${cpu_loss}, cuda ${gpu_loss}")
    list(APPEND losses "${name}/${teachers}" "${cpu_loss}" "${gpu_loss}")
  endforeach()
  # Float on both sides, cuDNN's algorithms against ccl's CPU convolutions, three SGD steps
  # that start from the same weights: 1e-3 relative. CMake has no floating-point arithmetic.
  find_program(PYTHON NAMES python3 python)
  if(PYTHON)
    execute_process(COMMAND "${PYTHON}" -c
      "import sys; v = sys.argv[1:]; bad = [v[i] for i in range(0, len(v), 3) if abs(float(v[i+1]) - float(v[i+2])) > 1e-3 * max(1.0, abs(float(v[i+1])))]; print('mismatch: ' + ', '.join(bad) if bad else 'losses match'); sys.exit(1 if bad else 0)"
      ${losses} RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "the GPU's first-epoch losses differ from the CPU's by more than 1e-3 (relative)")
    endif()
  else()
    message("python3 not found: the CPU/GPU loss comparison was not made (losses printed above)")
  endif()
endif()

foreach(cell baseline ccl-A ccl-I ccl-AI)
  foreach(file last.ckpt best.ckpt log.jsonl result.json)
    if(NOT EXISTS "${DIR}/run/${cell}/${file}")
      message(FATAL_ERROR "missing output ${DIR}/run/${cell}/${file}")
    endif()
  endforeach()
endforeach()
message("ucf51_train smoke: passed")
