using System.Globalization;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Job records and their events in an SQLite database (jobs.db in the data directory, write-ahead log, full sync).
/// Configs, errors and events are stored as the orchestrator.proto messages' protobuf bytes, the stable contract.
/// Appending an event and updating its job happen in one transaction, so the row and the events never disagree:
/// a kill at any moment leaves either both changes or neither.
/// </summary>
public sealed class JobStore : IDisposable
{
    public const string FileName = "jobs.db";
    public const int MaxPageSize = 500;
    public const int DefaultPageSize = 50;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly FileStream _ownership;
    private bool _disposed;

    public string DatabasePath { get; }

    public JobStore(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        DatabasePath = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _ownership = TakeOwnership(dataDirectory);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // One long-lived connection guarded by a lock; pooling would keep the file open after Dispose.
            Pooling = false,
        }.ToString());
        try
        {
            _connection.Open();
            CreateSchema();
        }
        catch
        {
            _connection.Dispose();
            _ownership.Dispose();
            throw;
        }
    }

    private void CreateSchema()
    {
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA busy_timeout = 5000;
            CREATE TABLE IF NOT EXISTS jobs (
                ordinal          INTEGER PRIMARY KEY AUTOINCREMENT,
                id               TEXT NOT NULL UNIQUE,
                kind             INTEGER NOT NULL,
                state            INTEGER NOT NULL,
                display_name     TEXT NOT NULL,
                config           BLOB NOT NULL,
                created_at       INTEGER NOT NULL,
                started_at       INTEGER,
                ended_at         INTEGER,
                epochs_completed INTEGER NOT NULL DEFAULT 0,
                best_loss        REAL NOT NULL DEFAULT 0,
                last_accuracy    REAL NOT NULL DEFAULT 0,
                last_sequence    INTEGER NOT NULL DEFAULT 0,
                error            BLOB,
                artifacts_dir    TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, ordinal);
            CREATE TABLE IF NOT EXISTS events (
                job_id   TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                event    BLOB NOT NULL,
                PRIMARY KEY (job_id, sequence)) WITHOUT ROWID;
            """);
    }

    /// <summary>Inserts a new job (its <see cref="Job.LastSequence"/> is ignored) together with its first event.</summary>
    public (Job Job, JobEvent Event) Create(Job job, JobEvent first, DateTimeOffset now)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var transaction = _connection.BeginTransaction();
            using (var insert = Command("""
                INSERT INTO jobs (id, kind, state, display_name, config, created_at, artifacts_dir)
                VALUES ($id, $kind, $state, $display, $config, $created, $artifacts)
                """, transaction))
            {
                insert.Parameters.AddWithValue("$id", job.JobId);
                insert.Parameters.AddWithValue("$kind", (int)job.Kind);
                insert.Parameters.AddWithValue("$state", (int)job.State);
                insert.Parameters.AddWithValue("$display", job.DisplayName);
                insert.Parameters.AddWithValue("$config", ConfigBytes(job));
                insert.Parameters.AddWithValue("$created", Ticks(job.CreatedAt));
                insert.Parameters.AddWithValue("$artifacts", job.ArtifactsDir);
                insert.ExecuteNonQuery();
            }
            var result = AppendCore(transaction, job.JobId, first, now, update: null);
            transaction.Commit();
            return result;
        }
    }

    /// <summary>
    /// Appends an event with the next sequence number (the job's last + 1) and applies <paramref name="update"/> to
    /// the job row, in one transaction. Returns the updated job and the stored event.
    /// </summary>
    public (Job Job, JobEvent Event) Append(string jobId, JobEvent payload, DateTimeOffset now, Action<Job>? update = null)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var transaction = _connection.BeginTransaction();
            var result = AppendCore(transaction, jobId, payload, now, update);
            transaction.Commit();
            return result;
        }
    }

    /// <summary>Changes the job row without an event (e.g. re-queueing after a restart).</summary>
    public Job Update(string jobId, Action<Job> update)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var transaction = _connection.BeginTransaction();
            var job = ReadJob(transaction, jobId) ?? throw JobRequestException.NotFound(jobId);
            update(job);
            WriteJob(transaction, job);
            transaction.Commit();
            return job;
        }
    }

    public Job? Get(string jobId)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return ReadJob(null, jobId);
        }
    }

    /// <summary>The job's events with a sequence number above <paramref name="afterSequence"/>, in order.</summary>
    public IReadOnlyList<JobEvent> ReadEvents(string jobId, ulong afterSequence, int limit = 1000)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var select = Command("""
                SELECT event FROM events WHERE job_id = $id AND sequence > $after ORDER BY sequence LIMIT $limit
                """, null);
            select.Parameters.AddWithValue("$id", jobId);
            select.Parameters.AddWithValue("$after", checked((long)Math.Min(afterSequence, long.MaxValue)));
            select.Parameters.AddWithValue("$limit", limit);
            using var reader = select.ExecuteReader();
            var events = new List<JobEvent>();
            while (reader.Read())
                events.Add(JobEvent.Parser.ParseFrom((byte[])reader[0]));
            return events;
        }
    }

    /// <summary>Jobs newest first, optionally only in some states. The page token is opaque to callers.</summary>
    public JobPage List(IReadOnlyCollection<JobState> states, int pageSize, string? pageToken)
    {
        if (pageSize <= 0) pageSize = DefaultPageSize;
        if (pageSize > MaxPageSize)
            throw JobRequestException.Invalid($"page_size {pageSize} is too large; use at most {MaxPageSize}.");
        long before = long.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) &&
            (!long.TryParse(pageToken, NumberStyles.None, CultureInfo.InvariantCulture, out before) || before <= 0))
            throw JobRequestException.Invalid($"page_token '{pageToken}' is not one this orchestrator handed out; " +
                                              "pass the next_page_token of a previous response, or nothing.");
        lock (_gate)
        {
            ThrowIfDisposed();
            string stateFilter = states.Count == 0 ? "" : $"AND state IN ({string.Join(", ", states.Select(s => (int)s))})";
            using var select = Command($"""
                SELECT {Columns} FROM jobs WHERE ordinal < $before {stateFilter} ORDER BY ordinal DESC LIMIT $limit
                """, null);
            select.Parameters.AddWithValue("$before", before);
            select.Parameters.AddWithValue("$limit", pageSize + 1);
            var rows = ReadJobs(select);
            string next = "";
            if (rows.Count > pageSize)
            {
                rows.RemoveAt(pageSize);
                next = rows[^1].Ordinal.ToString(CultureInfo.InvariantCulture);
            }
            return new JobPage(rows.Select(r => r.Job).ToList(), next);
        }
    }

    /// <summary>Queued and running jobs in creation order (what a restart must pick up again).</summary>
    public IReadOnlyList<Job> ListUnfinished()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var select = Command($"""
                SELECT {Columns} FROM jobs WHERE state IN ({(int)JobState.Queued}, {(int)JobState.Running}) ORDER BY ordinal
                """, null);
            return ReadJobs(select).Select(r => r.Job).ToList();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _connection.Dispose();
            _ownership.Dispose();
        }
    }

    /// <summary>
    /// Two processes running the same jobs would run them twice: the first store to open a data directory holds an
    /// exclusive lock on jobs.lock until it is disposed or its process dies.
    /// </summary>
    private static FileStream TakeOwnership(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, "jobs.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"Another orchestrator is using the data directory {Path.GetFullPath(dataDirectory)} " +
                                  "(jobs.lock is held). Stop it, or give this one its own Orchestrator:DataDirectory.", e);
        }
    }

    private (Job, JobEvent) AppendCore(SqliteTransaction transaction, string jobId, JobEvent payload, DateTimeOffset now,
                                       Action<Job>? update)
    {
        var job = ReadJob(transaction, jobId) ?? throw JobRequestException.NotFound(jobId);
        var stored = payload.Clone();
        stored.JobId = jobId;
        stored.Sequence = job.LastSequence + 1;
        stored.Time = Timestamp.FromDateTimeOffset(now);
        using (var insert = Command("INSERT INTO events (job_id, sequence, event) VALUES ($id, $sequence, $event)", transaction))
        {
            insert.Parameters.AddWithValue("$id", jobId);
            insert.Parameters.AddWithValue("$sequence", (long)stored.Sequence);
            insert.Parameters.AddWithValue("$event", stored.ToByteArray());
            insert.ExecuteNonQuery();
        }
        update?.Invoke(job);
        job.LastSequence = stored.Sequence;
        WriteJob(transaction, job);
        return (job, stored);
    }

    private void WriteJob(SqliteTransaction transaction, Job job)
    {
        using var write = Command("""
            UPDATE jobs SET state = $state, display_name = $display, config = $config, started_at = $started,
                ended_at = $ended, epochs_completed = $epochs, best_loss = $best, last_accuracy = $accuracy,
                last_sequence = $sequence, error = $error, artifacts_dir = $artifacts
            WHERE id = $id
            """, transaction);
        write.Parameters.AddWithValue("$id", job.JobId);
        write.Parameters.AddWithValue("$state", (int)job.State);
        write.Parameters.AddWithValue("$display", job.DisplayName);
        write.Parameters.AddWithValue("$config", ConfigBytes(job));
        write.Parameters.AddWithValue("$started", job.StartedAt is null ? DBNull.Value : Ticks(job.StartedAt));
        write.Parameters.AddWithValue("$ended", job.EndedAt is null ? DBNull.Value : Ticks(job.EndedAt));
        write.Parameters.AddWithValue("$epochs", job.EpochsCompleted);
        write.Parameters.AddWithValue("$best", job.BestLoss);
        write.Parameters.AddWithValue("$accuracy", job.LastAccuracy);
        write.Parameters.AddWithValue("$sequence", (long)job.LastSequence);
        write.Parameters.AddWithValue("$error", job.Error is null ? DBNull.Value : job.Error.ToByteArray());
        write.Parameters.AddWithValue("$artifacts", job.ArtifactsDir);
        write.ExecuteNonQuery();
    }

    private const string Columns = "ordinal, id, kind, state, display_name, config, created_at, started_at, ended_at, " +
                                   "epochs_completed, best_loss, last_accuracy, last_sequence, error, artifacts_dir";

    private Job? ReadJob(SqliteTransaction? transaction, string jobId)
    {
        using var select = Command($"SELECT {Columns} FROM jobs WHERE id = $id", transaction);
        select.Parameters.AddWithValue("$id", jobId);
        var rows = ReadJobs(select);
        return rows.Count == 0 ? null : rows[0].Job;
    }

    private static List<(long Ordinal, Job Job)> ReadJobs(SqliteCommand select)
    {
        var rows = new List<(long, Job)>();
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var job = new Job
            {
                JobId = reader.GetString(1),
                Kind = (JobKind)reader.GetInt32(2),
                State = (JobState)reader.GetInt32(3),
                DisplayName = reader.GetString(4),
                CreatedAt = FromTicks(reader.GetInt64(6)),
                StartedAt = reader.IsDBNull(7) ? null : FromTicks(reader.GetInt64(7)),
                EndedAt = reader.IsDBNull(8) ? null : FromTicks(reader.GetInt64(8)),
                EpochsCompleted = reader.GetInt32(9),
                BestLoss = reader.GetDouble(10),
                LastAccuracy = reader.GetDouble(11),
                LastSequence = (ulong)reader.GetInt64(12),
                Error = reader.IsDBNull(13) ? null : Google.Rpc.Status.Parser.ParseFrom((byte[])reader[13]),
                ArtifactsDir = reader.GetString(14),
            };
            var config = (byte[])reader[5];
            if (job.Kind == JobKind.Training) job.Training = TrainingConfig.Parser.ParseFrom(config);
            else if (job.Kind == JobKind.Evaluation) job.Evaluation = EvaluationConfig.Parser.ParseFrom(config);
            rows.Add((reader.GetInt64(0), job));
        }
        return rows;
    }

    private static byte[] ConfigBytes(Job job) => job.ConfigCase switch
    {
        Job.ConfigOneofCase.Training => job.Training.ToByteArray(),
        Job.ConfigOneofCase.Evaluation => job.Evaluation.ToByteArray(),
        _ => [],
    };

    private static long Ticks(Timestamp timestamp) => timestamp.ToDateTimeOffset().UtcTicks;

    private static Timestamp FromTicks(long ticks) => Timestamp.FromDateTimeOffset(new DateTimeOffset(ticks, TimeSpan.Zero));

    private SqliteCommand Command(string sql, SqliteTransaction? transaction)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private void Execute(string sql)
    {
        using var command = Command(sql, null);
        command.ExecuteNonQuery();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
