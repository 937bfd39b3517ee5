# One image recipe for every service: docker compose passes the project to publish and the assembly to run.
# Build context: the repository root.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG PROJECT
ARG TORCH_BACKEND=cpu
WORKDIR /src
COPY . .
RUN dotnet publish "$PROJECT" -c Release -o /app -p:TorchBackend=$TORCH_BACKEND

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG ASSEMBLY
ENV DCT_ASSEMBLY=$ASSEMBLY
WORKDIR /app
COPY --from=build /app .
# Inside a container the service must listen on all interfaces; compose sets the port through Urls.
ENTRYPOINT ["sh", "-c", "exec dotnet \"/app/$DCT_ASSEMBLY.dll\" \"$@\"", "--"]
