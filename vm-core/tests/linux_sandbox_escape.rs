//! Escape attempts: raw machine code run inside a Linux sandbox worker, as a guest that had
//! taken over the generated code would run it. Each attempt is stopped (the seccomp filter
//! kills the worker, or the kernel refuses), and afterwards the host and the other
//! workers go on as if nothing happened.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use iced_x86::code_asm::*;
use pvm_core::asm::assemble;
use pvm_core::sandbox::linux::{run_machine_code, ContextWords};
use pvm_core::{
    BackendKind, Config, Engine, Error, Instance, Interrupt, Module, ModuleConfig, Reg,
    SandboxConfig, SandboxError, SandboxKind,
};
use std::sync::Mutex;
use std::time::Duration;

/// `SIGSYS`: what the seccomp filter kills with.
const SIGSYS: i32 = 31;

const SYS_MMAP: u64 = 9;
const SYS_MPROTECT: u64 = 10;
const SYS_MUNMAP: u64 = 11;
const SYS_SOCKET: u64 = 41;
const SYS_CLONE: u64 = 56;
const SYS_FORK: u64 = 57;
const SYS_EXECVE: u64 = 59;
const SYS_KILL: u64 = 62;
const SYS_PTRACE: u64 = 101;
const SYS_SETRLIMIT: u64 = 160;
const SYS_FUTEX: u64 = 202;
const SYS_OPENAT: u64 = 257;
const SYS_UNSHARE: u64 = 272;
const SYS_SETNS: u64 = 308;
const SYS_PRLIMIT64: u64 = 302;
const SYS_CLONE3: u64 = 435;

/// A pooled instance that must keep working while workers around it are killed.
struct Bystander {
    instance: Instance,
}

impl Bystander {
    fn new() -> Bystander {
        let engine = Engine::new(&Config {
            backend: BackendKind::Jit,
            sandbox: SandboxConfig {
                kind: SandboxKind::Linux,
                ..SandboxConfig::default()
            },
            ..Config::default()
        })
        .unwrap();
        let blob = assemble(
            ".rw_data_size 4096\n.stack_size 4096\npub @main:\n add_64 a0, a0, a1\n ecalli 7\n jump_indirect ra, 0\n",
        )
        .unwrap();
        let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
        Bystander {
            instance: module.instantiate().unwrap(),
        }
    }

    /// Runs a call with a host call in the middle: the worker still answers.
    fn still_runs(&mut self) {
        let instance = &mut self.instance;
        instance.set_gas(1000);
        instance.prepare_call_export("main", &[20, 22]).unwrap();
        assert_eq!(instance.run().unwrap(), Interrupt::Ecalli(7));
        assert_eq!(instance.reg(Reg::A0), 42);
        assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    }
}

/// One bystander for all tests (they run in parallel threads of this process).
static BYSTANDER: Mutex<Option<Bystander>> = Mutex::new(None);

fn check_bystander() {
    let mut bystander = BYSTANDER.lock().unwrap_or_else(|p| p.into_inner());
    bystander.get_or_insert_with(Bystander::new).still_runs();
}

/// Assembles the payload `build` writes, runs it in a worker, and checks the bystander
/// afterwards.
fn attempt(
    build: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) -> Result<ContextWords, Error> {
    check_bystander();
    let mut a = CodeAssembler::new(64).unwrap();
    build(&mut a).unwrap();
    let code = a.assemble(0).unwrap();
    let result = run_machine_code(&code, Duration::from_secs(10));
    check_bystander();
    result
}

fn assert_killed_by_seccomp(result: Result<ContextWords, Error>, what: &str) {
    match result {
        Err(Error::Sandbox(SandboxError::WorkerDied {
            signal: Some(SIGSYS),
            ..
        })) => {}
        other => panic!("{what}: expected the seccomp filter to kill the worker, got {other:?}"),
    }
}

/// `syscall nr(args...)`, the result stored in context word `slot`.
fn syscall(a: &mut CodeAssembler, nr: u64, args: &[u64], slot: i32) -> Result<(), IcedError> {
    // rdi holds the context; keep it in rbx (callee-saved, restored below).
    a.push(rbx)?;
    a.mov(rbx, rdi)?;
    for (register, value) in [rdi, rsi, rdx, r10, r8, r9].into_iter().zip(args) {
        a.mov(register, *value)?;
    }
    a.mov(rax, nr)?;
    a.syscall()?;
    a.mov(qword_ptr(rbx + 8 * slot), rax)?;
    a.mov(rdi, rbx)?;
    a.pop(rbx)?;
    Ok(())
}

#[test]
fn honest_raw_code_returns_its_results() {
    let words = attempt(|a| {
        a.mov(qword_ptr(rdi), 0x1234)?;
        a.mov(qword_ptr(rdi + 8), 0x5678)?;
        a.ret()
    })
    .unwrap();
    assert_eq!(words[..2], [0x1234, 0x5678]);
}

#[test]
fn opening_a_file_is_killed() {
    let result = attempt(|a| {
        let mut path = a.create_label();
        a.mov(rax, SYS_OPENAT)?;
        a.mov(rdi, -100i64 as u64)?; // AT_FDCWD
        a.lea(rsi, ptr(path))?;
        a.xor(edx, edx)?;
        a.syscall()?;
        a.ret()?;
        a.set_label(&mut path)?;
        a.db(b"/etc/passwd\0")
    });
    assert_killed_by_seccomp(result, "openat(/etc/passwd)");
}

#[test]
fn reading_proc_is_killed() {
    let result = attempt(|a| {
        let mut path = a.create_label();
        a.mov(rax, SYS_OPENAT)?;
        a.mov(rdi, -100i64 as u64)?;
        a.lea(rsi, ptr(path))?;
        a.xor(edx, edx)?;
        a.syscall()?;
        a.ret()?;
        a.set_label(&mut path)?;
        a.db(b"/proc/self/mem\0")
    });
    assert_killed_by_seccomp(result, "openat(/proc/self/mem)");
}

#[test]
fn creating_a_socket_is_killed() {
    // socket(AF_INET, SOCK_STREAM, 0)
    let result = attempt(|a| {
        syscall(a, SYS_SOCKET, &[2, 1, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "socket");
}

#[test]
fn forking_and_cloning_are_killed() {
    for (nr, args, what) in [
        (SYS_FORK, &[][..], "fork"),
        (SYS_CLONE, &[0x11, 0, 0, 0, 0][..], "clone(SIGCHLD)"),
        (SYS_CLONE3, &[0, 0][..], "clone3"),
    ] {
        let result = attempt(|a| {
            syscall(a, nr, args, 0)?;
            a.ret()
        });
        assert_killed_by_seccomp(result, what);
    }
}

#[test]
fn executing_a_program_is_killed() {
    let result = attempt(|a| {
        let mut path = a.create_label();
        a.mov(rax, SYS_EXECVE)?;
        a.lea(rdi, ptr(path))?;
        a.xor(esi, esi)?;
        a.xor(edx, edx)?;
        a.syscall()?;
        a.ret()?;
        a.set_label(&mut path)?;
        a.db(b"/bin/sh\0")
    });
    assert_killed_by_seccomp(result, "execve(/bin/sh)");
}

#[test]
fn signalling_or_tracing_the_host_is_killed() {
    let host = u64::from(std::process::id());
    let result = attempt(|a| {
        syscall(a, SYS_KILL, &[host, 9], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "kill(host, SIGKILL)");
    let result = attempt(|a| {
        // kill(-1, SIGKILL): everything the worker could signal.
        syscall(a, SYS_KILL, &[u64::MAX, 9], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "kill(-1, SIGKILL)");
    let result = attempt(|a| {
        // ptrace(PTRACE_ATTACH, host)
        syscall(a, SYS_PTRACE, &[16, host, 0, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "ptrace(PTRACE_ATTACH, host)");
}

#[test]
fn mapping_new_executable_memory_is_killed() {
    // mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS)
    let result = attempt(|a| {
        syscall(a, SYS_MMAP, &[0, 4096, 7, 0x22, u64::MAX, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "mmap(PROT_EXEC)");
    // Even without PROT_EXEC: no new mappings at all.
    let result = attempt(|a| {
        syscall(a, SYS_MMAP, &[0, 4096, 3, 0x22, u64::MAX, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "mmap(PROT_READ | PROT_WRITE)");
    // Making existing memory (the stack) executable.
    let result = attempt(|a| {
        a.mov(rsi, rsp)?;
        a.and(rsi, -4096i32)?;
        a.push(rbx)?;
        a.mov(rbx, rdi)?;
        a.mov(rdi, rsi)?;
        a.mov(esi, 4096u32)?;
        a.mov(edx, 7u32)?;
        a.mov(eax, SYS_MPROTECT as u32)?;
        a.syscall()?;
        a.pop(rbx)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "mprotect(stack, PROT_EXEC)");
}

#[test]
fn writing_to_code_is_stopped() {
    // The code is mapped read-execute from a memory file sealed against writable
    // mappings: making it writable is refused (EACCES) ...
    let words = attempt(|a| {
        let mut here = a.create_label();
        a.set_label(&mut here)?;
        a.lea(rsi, ptr(here))?;
        a.and(rsi, -4096i32)?; // the page this code is on
        a.push(rbx)?;
        a.mov(rbx, rdi)?;
        a.mov(rdi, rsi)?;
        a.mov(esi, 4096u32)?;
        a.mov(edx, 3u32)?; // PROT_READ | PROT_WRITE
        a.mov(eax, SYS_MPROTECT as u32)?;
        a.syscall()?;
        a.mov(qword_ptr(rbx), rax)?;
        a.mov(rdi, rbx)?;
        a.pop(rbx)?;
        a.ret()
    })
    .unwrap();
    assert_eq!(
        words[0] as i64, -13,
        "mprotect(code, PROT_WRITE) must fail with EACCES"
    );
    // ... and writing to it faults, outside any guest memory access: the worker ends.
    let result = attempt(|a| {
        let mut here = a.create_label();
        a.set_label(&mut here)?;
        a.mov(byte_ptr(here), 0x90u32)?;
        a.ret()
    });
    match result {
        Err(Error::Sandbox(SandboxError::WorkerDied {
            status: Some(100), ..
        })) => {}
        other => panic!("writing to code: expected the worker to end, got {other:?}"),
    }
}

#[test]
fn raising_a_resource_limit_is_killed() {
    let result = attempt(|a| {
        // setrlimit(RLIMIT_NOFILE, &{1024, 1024}) with the limit on the stack.
        a.sub(rsp, 16)?;
        a.mov(qword_ptr(rsp), 1024)?;
        a.mov(qword_ptr(rsp + 8), 1024)?;
        a.mov(rsi, rsp)?;
        a.mov(edi, 7u32)?;
        a.mov(eax, SYS_SETRLIMIT as u32)?;
        a.syscall()?;
        a.add(rsp, 16)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "setrlimit(RLIMIT_NOFILE)");
    let result = attempt(|a| {
        syscall(a, SYS_PRLIMIT64, &[0, 7, 0, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "prlimit64");
}

#[test]
fn leaving_the_namespaces_is_killed() {
    // unshare(CLONE_NEWUSER), setns(0, 0)
    let result = attempt(|a| {
        syscall(a, SYS_UNSHARE, &[0x1000_0000], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "unshare(CLONE_NEWUSER)");
    let result = attempt(|a| {
        syscall(a, SYS_SETNS, &[0, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "setns");
}

#[test]
fn other_system_call_abis_and_arguments_are_killed() {
    // The i386 ABI (`int 0x80`, here exit(0)): another architecture to seccomp.
    let result = attempt(|a| {
        a.mov(eax, 1u32)?;
        a.xor(ebx, ebx)?;
        a.int(0x80)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "int 0x80");
    // The x32 ABI's numbering of an allowed call.
    let result = attempt(|a| {
        syscall(a, 0x4000_0000 | SYS_MPROTECT, &[0, 0, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "x32 mprotect");
    // An allowed call with a forbidden operation: futex(FUTEX_CMP_REQUEUE).
    let result = attempt(|a| {
        syscall(a, SYS_FUTEX, &[0, 4, 0, 0, 0, 0], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "futex(FUTEX_CMP_REQUEUE)");
    // Unmapping the code.
    let result = attempt(|a| {
        syscall(a, SYS_MUNMAP, &[0x3000_0000_0000, 4096], 0)?;
        a.ret()
    });
    assert_killed_by_seccomp(result, "munmap");
}

#[test]
fn a_hanging_worker_is_killed_after_the_timeout() {
    check_bystander();
    let mut a = CodeAssembler::new(64).unwrap();
    let mut forever = a.create_label();
    a.set_label(&mut forever).unwrap();
    a.jmp(forever).unwrap();
    let code = a.assemble(0).unwrap();
    let result = run_machine_code(&code, Duration::from_millis(200));
    assert!(
        matches!(
            result,
            Err(Error::Sandbox(SandboxError::Timeout { millis: 200 }))
        ),
        "{result:?}"
    );
    check_bystander();
}
