// The Windows service host of the cronsync agent (service name "cronsync"). node.exe cannot
// speak the Service Control Manager protocol, so this ServiceBase does it and runs
//   node.exe <main.js> daemon --config <config.yaml> --stop-on-stdin-eof
// with stdin, stdout and stderr redirected. Stop closes the daemon's stdin, which it treats as
// SIGTERM (the sync in flight finishes, exit 0); after 30 s the process tree is killed. The
// daemon's JSON log lines are appended to <log-dir>\cronsync.log, rotated at 10 MiB (5 kept).
// Start, stop and crash go to the Application event log (source "cronsync"). When the daemon
// exits on its own, the host exits with code 1 without reporting SERVICE_STOPPED, so the
// SCM recovery actions (sc.exe failure, set by install.ps1) restart the service.
//
// C# 5, no dependencies: install.ps1 compiles it with the .NET Framework's csc.exe, which every
// Windows 10/11 and Server 2016+ has; CI compiles it with mono's mcs -langversion:5.
//
// Usage (the service's ImagePath; every option has a default):
//   cronsync-service.exe --node C:\...\node.exe --main C:\...\dist\cli\main.js
//                        --config C:\ProgramData\cronsync\config.yaml --log-dir C:\ProgramData\cronsync\logs
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.ServiceProcess;
using System.Text;
using System.Threading;

namespace Cronsync.Service
{
    public sealed class CronsyncService : ServiceBase
    {
        public const string Name = "cronsync";
        const long MaxLogBytes = 10L * 1024 * 1024;
        const int KeepLogs = 5;
        const int StopWaitMs = 30000;

        // Event ids, listed in the README (Windows: where things live).
        const int EventStarted = 1, EventStopped = 2, EventCrashed = 3, EventKilled = 4, EventStartFailed = 5, EventLogFailed = 6;

        readonly string node, main, config, logFile;
        readonly object logLock = new object();
        readonly UTF8Encoding utf8 = new UTF8Encoding(false);
        Process child;
        FileStream log;
        volatile bool stopping;
        bool logFailing;

        public CronsyncService(string node, string main, string config, string logDir)
        {
            ServiceName = Name;
            AutoLog = false;
            CanStop = true;
            CanShutdown = true;
            this.node = node;
            this.main = main;
            this.config = config;
            logFile = Path.Combine(logDir, "cronsync.log");
        }

        protected override void OnStart(string[] args)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(logFile));
                ProcessStartInfo psi = new ProcessStartInfo(node, Quote(main) + " daemon --config " + Quote(config) + " --stop-on-stdin-eof");
                psi.UseShellExecute = false;
                psi.CreateNoWindow = true;
                psi.RedirectStandardInput = true;
                psi.RedirectStandardOutput = true;
                psi.RedirectStandardError = true;
                psi.StandardOutputEncoding = utf8;
                psi.StandardErrorEncoding = utf8;
                psi.WorkingDirectory = Path.GetDirectoryName(config);
                child = new Process();
                child.StartInfo = psi;
                child.EnableRaisingEvents = true;
                child.OutputDataReceived += OnOutput;
                child.ErrorDataReceived += OnOutput;
                child.Exited += OnChildExited;
                child.Start();
                child.BeginOutputReadLine();
                child.BeginErrorReadLine();
                Report(EventLogEntryType.Information, EventStarted, "cronsync daemon started (pid " + child.Id + "): " + psi.FileName + " " + psi.Arguments);
            }
            catch (Exception e)
            {
                Report(EventLogEntryType.Error, EventStartFailed, "cronsync daemon could not be started: " + e);
                throw;
            }
        }

        protected override void OnStop()
        {
            StopChild();
        }

        protected override void OnShutdown()
        {
            StopChild();
        }

        void StopChild()
        {
            if (stopping) return;
            stopping = true;
            if (child == null) return;
            try
            {
                // The daemon reads the end of stdin as SIGTERM.
                child.StandardInput.Close();
            }
            catch (Exception)
            {
                // Already exited: nothing to ask.
            }
            bool exited = false;
            for (int waited = 0; waited < StopWaitMs && !exited; waited += 5000)
            {
                AskForTime(10000);
                exited = child.WaitForExit(5000);
            }
            if (!exited)
            {
                Report(EventLogEntryType.Warning, EventKilled, "cronsync daemon did not stop within " + (StopWaitMs / 1000) + " s; killing its process tree");
                KillTree(child.Id);
                child.WaitForExit(5000);
            }
            else
            {
                // Flushes the asynchronous output handlers.
                child.WaitForExit();
            }
            int code = child.HasExited ? child.ExitCode : -1;
            WriteLog("info", "cronsync daemon stopped with exit code " + code);
            Report(EventLogEntryType.Information, EventStopped, "cronsync daemon stopped (exit code " + code + ")");
            CloseLog();
        }

        // Tells SCM the stop takes longer. Only a stop is a pending state: at shutdown (and outside
        // SCM, under mono) this throws, and the time Windows allows is what it is.
        void AskForTime(int ms)
        {
            try { RequestAdditionalTime(ms); }
            catch (InvalidOperationException) { }
            catch (NotImplementedException) { }
        }

        void OnChildExited(object sender, EventArgs e)
        {
            if (stopping) return;
            child.WaitForExit();
            int code = child.ExitCode;
            string msg = "cronsync daemon exited unexpectedly with code " + code + "; the service fails so that its recovery actions restart it";
            WriteLog("error", msg);
            Report(EventLogEntryType.Error, EventCrashed, msg + ". Log: " + logFile);
            CloseLog();
            // Ending without SERVICE_STOPPED is a service failure: SCM runs the recovery actions.
            Environment.Exit(1);
        }

        void OnOutput(object sender, DataReceivedEventArgs e)
        {
            if (e.Data != null) Append(e.Data);
        }

        void WriteLog(string level, string msg)
        {
            StringBuilder sb = new StringBuilder("{\"level\":\"").Append(level).Append("\",\"time\":\"")
                .Append(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append("\",\"source\":\"service\",\"msg\":\"");
            foreach (char c in msg)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < ' ') sb.Append("\\u").Append(((int)c).ToString("x4"));
                else sb.Append(c);
            }
            Append(sb.Append("\"}").ToString());
        }

        // One line to the log file, rotating it first when it reached MaxLogBytes.
        void Append(string line)
        {
            lock (logLock)
            {
                try
                {
                    if (log != null && log.Length >= MaxLogBytes) CloseLog();
                    if (log == null)
                    {
                        Rotate();
                        log = new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                    }
                    byte[] bytes = utf8.GetBytes(line + "\r\n");
                    log.Write(bytes, 0, bytes.Length);
                    log.Flush();
                    logFailing = false;
                }
                catch (Exception e)
                {
                    // A full disk must not stop the agent; said once until a write succeeds again.
                    CloseLog();
                    if (!logFailing) Report(EventLogEntryType.Warning, EventLogFailed, "cannot write " + logFile + ": " + e.Message);
                    logFailing = true;
                }
            }
        }

        // cronsync.log -> .1 -> .2 ... -> .KeepLogs (dropped), when cronsync.log is too big. A file
        // held open by a reader without delete sharing is rotated at a later line instead.
        void Rotate()
        {
            FileInfo current = new FileInfo(logFile);
            if (!current.Exists || current.Length < MaxLogBytes) return;
            try
            {
                string oldest = logFile + "." + KeepLogs;
                if (File.Exists(oldest)) File.Delete(oldest);
                for (int i = KeepLogs - 1; i >= 1; i--)
                {
                    string from = logFile + "." + i;
                    if (File.Exists(from)) File.Move(from, logFile + "." + (i + 1));
                }
                File.Move(logFile, logFile + ".1");
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        void CloseLog()
        {
            lock (logLock)
            {
                if (log == null) return;
                try { log.Dispose(); }
                catch (IOException) { }
                log = null;
            }
        }

        void Report(EventLogEntryType type, int id, string msg)
        {
            try
            {
                System.Diagnostics.EventLog.WriteEntry(Name, msg, type, id);
            }
            catch (Exception)
            {
                // No event source (not installed by install.ps1): the log file still has it.
            }
        }

        static void KillTree(int pid)
        {
            string taskkill = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.System), "taskkill.exe");
            try
            {
                using (Process p = Process.Start(new ProcessStartInfo(taskkill, "/PID " + pid + " /T /F") { UseShellExecute = false, CreateNoWindow = true }))
                {
                    p.WaitForExit(10000);
                }
            }
            catch (Exception)
            {
                try { Process.GetProcessById(pid).Kill(); }
                catch (Exception) { }
            }
        }

        // Quotes one argument for the MSVC runtime's parser (node.exe uses it).
        static string Quote(string arg)
        {
            StringBuilder sb = new StringBuilder("\"");
            int slashes = 0;
            foreach (char c in arg)
            {
                if (c == '\\') { slashes++; continue; }
                sb.Append('\\', c == '"' ? slashes * 2 + 1 : slashes).Append(c);
                slashes = 0;
            }
            return sb.Append('\\', slashes * 2).Append('"').ToString();
        }

        public static int Main(string[] args)
        {
            string programData = Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData);
            string home = Path.GetDirectoryName(Path.GetDirectoryName(typeof(CronsyncService).Assembly.Location));
            string node = "node.exe";
            string main = Path.Combine(home, "dist\\cli\\main.js");
            string config = Path.Combine(programData, "cronsync\\config.yaml");
            string logDir = Path.Combine(programData, "cronsync\\logs");
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                if (args[i] == "--node") node = args[i + 1];
                else if (args[i] == "--main") main = args[i + 1];
                else if (args[i] == "--config") config = args[i + 1];
                else if (args[i] == "--log-dir") logDir = args[i + 1];
                else
                {
                    Console.Error.WriteLine("cronsync-service: unknown option " + args[i]);
                    return 2;
                }
            }
            if (args.Length % 2 != 0)
            {
                Console.Error.WriteLine("cronsync-service: option " + args[args.Length - 1] + " needs a value");
                return 2;
            }
            if (Environment.UserInteractive)
            {
                Console.Error.WriteLine("cronsync-service is the Windows service host of cronsync; install it with windows\\install.ps1 and use Start-Service cronsync.");
                return 2;
            }
            ServiceBase.Run(new CronsyncService(node, main, config, logDir));
            return 0;
        }
    }
}
